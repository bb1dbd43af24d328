using System.CommandLine;

namespace DataExchange.Cli;

/// <summary>
/// Where dx finds the servers: the option, else its DX_* variable, else the local development default (never shown in
/// help: a connection string carries a password).
/// </summary>
internal static class ServerOptions
{
    public const string LocalPostgres = "Host=127.0.0.1;Port=55432;Username=dx;Password=dx;Database=dataexchange";
    public const string LocalRabbitMq = "amqp://dx:dx@127.0.0.1:55672/";

    public static Option<string?> Postgres() => Opt.Text("--postgres", "CONN", "the market's database (default DX_POSTGRES, else the local dev database)");

    public static Option<string?> RabbitMq(string description = "the bus (default DX_RABBITMQ, else amqp://dx:dx@127.0.0.1:55672/)") =>
        Opt.Text("--rabbitmq", "URI", description);

    /// <summary>An HTTP address option: --name URL, else the variable, else the default.</summary>
    public static Option<string?> Url(string name, string env, string fallback, string what) =>
        Opt.Text(name, "URL", $"{what} (default {fallback} or {env})");

    public static string PostgresOf(this ParseResult r, Option<string?> o) => r.GetValue(o) ?? Env("DX_POSTGRES") ?? LocalPostgres;
    public static string RabbitMqOf(this ParseResult r, Option<string?> o) => r.GetValue(o) ?? Env("DX_RABBITMQ") ?? LocalRabbitMq;
    public static string UrlOf(this ParseResult r, Option<string?> o, string env, string fallback) => r.GetValue(o) ?? Env(env) ?? fallback;

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
