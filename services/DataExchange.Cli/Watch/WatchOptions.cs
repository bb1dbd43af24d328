using System.CommandLine;

namespace DataExchange.Cli.Watch;

/// <summary>The options <c>dx watch payouts</c> and <c>dx watch results</c> share; <paramref name="role"/> is whose deliveries they show.</summary>
internal sealed class WatchOptions(string role, string idOption, string serviceOption, string env, string fallback, string service)
{
    public string Role { get; } = role;
    public (string Option, string Env, string Default) Service { get; } = (serviceOption, env, fallback);

    public readonly Option<string?> Id = Opt.Text(idOption, "ID", $"only this {role}'s deliveries (the operator's account; a {role}'s own URI implies it)");
    public readonly Option<string?> Since = Opt.Text("--since", "CURSOR",
        $"first catch up on the {role}'s log after CURSOR (0 = all; each caught-up line ends with its cursor), then go on live");
    public readonly Option<DateTimeOffset?> From = Opt.Time("--from", "an ISO-8601 date or time (e.g. 2026-12-01T12:00:00Z)",
        "the same, from the first line at or after TIME (ISO-8601, UTC)");
    public readonly Option<string?> Url = ServerOptions.Url(serviceOption, env, fallback, $"{service}'s HTTP address, for the catch-up");
    public readonly Option<string?> Key = Opt.Text("--key", "KEY", $"the {role}'s API key (default DX_API_KEY, else issued from DX_KEY_SECRET)");
    public readonly Option<string?> Output = Opt.Text("--output", "FILE",
        "append the lines to FILE; a restarted watch (even after kill -9) reads it back: no line twice, the catch-up resumes after its last cursor");
    public readonly Option<int> Count = Opt.Int("--count", 0, 0, int.MaxValue, "exit after N lines (default: until Ctrl+C)");
    public readonly Option<string?> RabbitMq = ServerOptions.RabbitMq($"the bus (default DX_RABBITMQ); a {role}'s own URI (dx participants add) reads its durable queue");

    public Command AddTo(Command c) => c.With(Id, Since, From, Url, Key, Output, Count, RabbitMq);
}
