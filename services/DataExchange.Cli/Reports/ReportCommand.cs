using System.Globalization;
using DataExchange.Reports;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Cli.Reports;

/// <summary>
/// <c>dx report settlement</c>: the settlement report of a period from the projections (payout, allocation and pricing
/// schemas), as a table, CSV, JSON or self-contained HTML. Waits for the projections to catch up with their logs first.
/// </summary>
public static class ReportCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] != "settlement") throw new UsageException("report: expected 'dx report settlement [options]'");
        var a = new Arguments(args[1..], new HashSet<string>(StringComparer.Ordinal));
        var postgres = PostgresOption.From(a);
        var from = Time(a, "--from");
        var to = Time(a, "--to");
        var format = a.String("--format") ?? "table";
        if (!ReportRenderer.Formats.Contains(format)) throw new UsageException($"--format: '{format}' is not one of table, csv, json, html");
        var market = a.String("--market");
        var output = a.String("--output");
        var wait = a.Int("--wait", 30, 0, 3600);
        a.RejectUnknown();
        if (from is not null && to is not null && to <= from) throw new UsageException("--to: must be after --from");

        string text;
        try
        {
            text = BuildAsync(postgres, new ReportPeriod(from, to), market, format, TimeSpan.FromSeconds(wait), stderr, CancellationToken.None)
                .GetAwaiter().GetResult();
        }
        catch (Exception e) when ((e as Npgsql.PostgresException ?? e.InnerException as Npgsql.PostgresException) is { SqlState: Npgsql.PostgresErrorCodes.UndefinedTable or Npgsql.PostgresErrorCodes.InvalidSchemaName } pg)
        {
            stderr.WriteLine($"dx: the settlement projections are not in this database yet (start the services once, they create them): {pg.MessageText}");
            return 5;
        }
        if (output is null) stdout.Write(text);
        else File.WriteAllText(output, text);
        return 0;
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

    private static DateTimeOffset? Time(Arguments a, string name)
    {
        var s = a.String(name);
        if (s is null) return null;
        if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            throw new UsageException($"{name}: '{s}' is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z; UTC unless an offset is given)");
        return t;
    }
}
