using System.Globalization;
using DataExchange.Reports;
using System.CommandLine;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Cli.Reports;

/// <summary>
/// <c>dx report settlement</c>: the settlement report of a period from the projections (payout, allocation and pricing
/// schemas), as a table, CSV, JSON or self-contained HTML. Waits for the projections to catch up with their logs first.
/// </summary>
public static class ReportCommand
{
    public static Command Create()
    {
        const string iso = "an ISO date or time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z; UTC unless an offset is given)";
        var from = Opt.Time("--from", iso, "settled at or after this time (ISO date or time, UTC; default: all)");
        var to = Opt.Time("--to", iso, "settled before this time");
        var format = Opt.Text("--format", "table|csv|json|html", "table (default), csv, json or html (html draws the price and each seller's earnings)");
        var market = Opt.Text("--market", "ID", "one market only");
        var output = Opt.Text("--output", "FILE", "write the report to FILE instead of the terminal");
        var wait = Opt.Int("--wait", 30, 0, 3600, "wait up to S seconds for the projections to catch up");
        var postgres = ServerOptions.Postgres();
        var command = new Command("settlement", "the settlement report of a period, from the projections").With(from, to, format, market, output, wait, postgres);
        command.SetAction(r =>
        {
            var (stdout, stderr) = (r.Out(), r.Err());
            var (start, end) = (r.GetValue(from), r.GetValue(to));
            var shape = r.GetValue(format) ?? "table";
            if (!ReportRenderer.Formats.Contains(shape)) throw new UsageException($"--format: '{shape}' is not one of table, csv, json, html");
            if (start is not null && end is not null && end <= start) throw new UsageException("--to: must be after --from");
            string text;
            try
            {
                text = BuildAsync(r.PostgresOf(postgres), new ReportPeriod(start, end), r.GetValue(market), shape, TimeSpan.FromSeconds(r.GetValue(wait)), stderr,
                    CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception e) when (NotCreatedYet.Of(e) is { } pg)
            {
                stderr.WriteLine($"dx: the settlement projections are not in this database yet (start the services once, they create them): {pg.MessageText}");
                return 5;
            }
            if (r.GetValue(output) is { } path) File.WriteAllText(path, text);
            else stdout.Write(text);
            return 0;
        });
        return command;
    }

    /// <summary>Builds and renders the report (also what the tests call).</summary>
    public static async Task<string> BuildAsync(string postgres, ReportPeriod period, string? market, string format, TimeSpan wait,
        TextWriter stderr, CancellationToken ct)
    {
        using var payout = SettlementStores.Open(postgres, SettlementProjections.PayoutSchema);
        using var allocation = SettlementStores.Open(postgres, SettlementProjections.AllocationSchema);
        using var pricing = SettlementStores.Open(postgres, SettlementProjections.PricingSchema);
        await WaitForProjectionsAsync(postgres, [(SettlementProjections.PayoutSchema, payout), (SettlementProjections.AllocationSchema, allocation),
            (SettlementProjections.PricingSchema, pricing)], wait, stderr, ct);
        await using var p = payout.QuerySession();
        await using var al = allocation.QuerySession();
        await using var pr = pricing.QuerySession();
        // Settlements are read first; then allocation's projection is brought up to its log's end as it is now, so each
        // settlement read has its charge projected (a charge commits before its settlement).
        var report = await SettlementReport.BuildAsync(p, al, pr, period, market, ct,
            c => WaitForProjectionsAsync(postgres, [(SettlementProjections.AllocationSchema, allocation)], wait, stderr, c));
        return ReportRenderer.Render(report, format);
    }

    /// <summary>Waits until every projection has read its log up to the last event there was when the report started.</summary>
    public static async Task<bool> WaitForProjectionsAsync(string postgres, IReadOnlyList<(string Schema, DocumentStore Store)> stores, TimeSpan wait,
        TextWriter stderr, CancellationToken ct)
    {
        var targets = new Dictionary<string, long>();
        foreach (var (schema, _) in stores) targets[schema] = await SettlementStores.LastSequenceAsync(postgres, schema, ct);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var behind = new List<string>();
            foreach (var (schema, store) in stores)
                foreach (var (projection, seq) in await SettlementStores.ProgressAsync(store, ct))
                    if (seq < targets[schema]) behind.Add($"{schema}.{projection} at event {seq:N0} of {targets[schema]:N0} ({targets[schema] - seq:N0} behind)");
            if (behind.Count == 0) return true;
            if (DateTime.UtcNow >= deadline)
            {
                stderr.WriteLine($"dx: warning: projections are stale, the report may be incomplete: {string.Join("; ", behind)}");
                return false;
            }
            await Task.Delay(200, ct);
        }
    }
}
