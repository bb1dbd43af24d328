using System.CommandLine;
using DataExchange.Reports;

namespace DataExchange.Cli.Reports;

/// <summary>
/// <c>dx report latency</c>: where the last settled tasks' time went, leg by leg through the services, from their event
/// logs (README, Benchmarks: latency). Reads only.
/// </summary>
public static class LatencyCommand
{
    public static Command Create()
    {
        var market = Opt.Text("--market", "ID", "one market only (default: every market)");
        var last = Opt.Int("--last", 1000, 1, 1_000_000, "the last N settled tasks");
        var postgres = ServerOptions.Postgres();
        var command = new Command("latency", "where the last settled tasks' time went, leg by leg, from the services' event logs").With(market, last, postgres);
        command.SetAction(r =>
        {
            IReadOnlyList<TaskLegs> tasks;
            try
            {
                tasks = LatencyReport.ReadAsync(r.PostgresOf(postgres), r.GetValue(market), r.GetValue(last), CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception e) when (NotCreatedYet.Of(e) is { } pg)
            {
                r.Err().WriteLine($"dx: the services' event logs are not in this database yet (start the services once, they create them): {pg.MessageText}");
                return 5;
            }
            r.Out().Write(LatencyReport.Render(tasks, r.GetValue(market)));
            return 0;
        });
        return command;
    }
}
