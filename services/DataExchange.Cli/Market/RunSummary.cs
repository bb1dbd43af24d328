using System.Globalization;
using DataExchange.Client;
using DataExchange.Mechanism;
using DataExchange.Reports;

namespace DataExchange.Cli.Market;

/// <summary>The seed report's summary, from what the market published.</summary>
public sealed record RunSummary(int Tasks, int Settled, int Rejected, decimal Charged, decimal Paid, decimal Retained,
    IReadOnlyList<(string Seller, decimal Revenue)> Sellers, double P50Ms, double P99Ms, TimeSpan Elapsed)
{
    /// <summary>CPU time this process (the load generator: publishing, observing) used between the first publish and the last task done.</summary>
    public TimeSpan? GeneratorCpu { get; init; }

    /// <summary>The first task's submit-to-settled latency (P50Ms and P99Ms are over the others).</summary>
    public double? FirstMs { get; init; }

    /// <summary>Tasks accounted for from the market's logs, their messages not heard (MarketReconciler).</summary>
    public int Reconciled { get; init; }

    /// <summary>A buyer's tasks read charged from its results but whose settlement (the sellers' business) it did not hear.</summary>
    public int ChargedOnly { get; init; }

    public static RunSummary From(MarketScenario scenario, IReadOnlyList<TaskReport> reports, TimeSpan elapsed)
    {
        // Settled: heard so, or every line read from the payout log (the operator's reconciliation: charge from the buyer's
        // result, paid = the lines, retained and fee the rest, exactly). Charged only: a buyer's result without its settlement.
        var settled = reports.Where(r => r.Settled is not null || (r.Reconciled && r.Result is not null && r.FirstLineRound > 0)).ToList();
        var chargedOnly = reports.Where(r => r.Reconciled && r.Settled is null && r.FirstLineRound == 0 && r.Result is not null).ToList();
        static decimal Charge(TaskReport r) => r.Settled?.Charge ?? r.Result!.Charge;
        static decimal Paid(TaskReport r) => r.Settled?.PaidToSellers ?? r.Payouts.Values.Sum(p => p.Amount);
        static decimal Kept(TaskReport r) => r.Settled is { } s ? s.Retained + s.Fee : Charge(r) - Paid(r);
        var bySeller = scenario.Sellers.SellerIds.ToDictionary(s => s, _ => 0m, StringComparer.Ordinal);
        foreach (var p in settled.SelectMany(r => r.Payouts.Values)) bySeller[p.SellerId] = bySeller.GetValueOrDefault(p.SellerId) + p.Amount;
        var heard = settled.Where(r => r.Settled is not null).ToList();
        // From this client's publish to its hearing of the settlement (what a buyer waits), else the market's own stamps.
        static double LatencyMs(TaskReport r) => r.PublishedAt > 0 && r.SettledHeardAt > 0
            ? System.Diagnostics.Stopwatch.GetElapsedTime(r.PublishedAt, r.SettledHeardAt).TotalMilliseconds
            : (r.Settled!.SettledAt - r.Settled.SubmittedAt).TotalMilliseconds;
        // The first task reported apart: it pays for the services' first use of every path (JIT, connections, caches).
        // Latency only over the settlements heard here (a reconciled task's moment is when the log was read).
        var first = heard.Count > 0 ? heard.MinBy(r => r.PublishedAt) : null;
        var latencies = heard.Where(r => r != first || heard.Count == 1).Select(LatencyMs).Order().ToArray();
        return new RunSummary(reports.Count, settled.Count, reports.Count(r => r.Rejected is not null),
            settled.Sum(Charge), settled.Sum(Paid), settled.Sum(Kept),
            bySeller.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList(),
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), elapsed)
        {
            FirstMs = first is null ? null : LatencyMs(first), ChargedOnly = chargedOnly.Count, ChargedOnlyAmount = chargedOnly.Sum(Charge),
        };
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : LatencyReport.NearestRank(sorted, q);

    /// <summary>Traded as a buyer participant: the sellers' payouts are not its business (not shown).</summary>
    public bool AsBuyer { get; init; }

    /// <summary>What the <see cref="ChargedOnly"/> tasks were charged (not in Charged, which balances against the payouts).</summary>
    public decimal ChargedOnlyAmount { get; init; }

    public void Print(TextWriter w)
    {
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine();
        w.WriteLine("===== Market Run Finished =====");
        w.WriteLine(string.Format(inv, "Total Buyers       : {0} ({1} settled, {2} rejected{3})", Tasks, Settled, Rejected,
            ChargedOnly > 0 ? string.Format(inv, ", {0} charged with predictions, settlement not heard: {1:0.0000}", ChargedOnly, ChargedOnlyAmount) : ""));
        if (Reconciled > 0)
            w.WriteLine(string.Format(inv, "Reconciled         : {0} task(s) read from the market's logs (their messages never came)", Reconciled));
        w.WriteLine(string.Format(inv, "Total Revenue      : {0:0.0000}", Charged));
        w.WriteLine(string.Format(inv, "Average Revenue    : {0:0.0000}", Settled == 0 ? 0m : Charged / Settled));
        w.WriteLine(string.Format(inv, "Paid to sellers    : {0:0.0000}", Paid));
        w.WriteLine(string.Format(inv, "Retained by market : {0:0.0000}", Retained));
        w.WriteLine(string.Format(inv, "Ledger balances    : {0}", Charged == Paid + Retained ? "yes (charged = paid + retained, exactly)" : "NO"));
        w.WriteLine();
        if (AsBuyer) w.WriteLine("Top 5 Sellers by Revenue: (the sellers' business: a buyer does not receive their payouts)");
        else
        {
            w.WriteLine(Sellers.All(s => s.Revenue == 0) && Paid > 0 ? "Top 5 Sellers by Revenue: (not watched: --watch settled)" : "Top 5 Sellers by Revenue:");
            foreach (var (seller, revenue) in Sellers.Take(5)) w.WriteLine(string.Format(inv, "{0,-12} | Revenue = {1:0.0000}", seller, revenue));
        }
        w.WriteLine();
        w.WriteLine(string.Format(inv, "Throughput         : {0:0.0} tasks/s ({1} tasks in {2:0.00} s)", Tasks / Math.Max(Elapsed.TotalSeconds, 1e-9), Tasks, Elapsed.TotalSeconds));
        w.WriteLine(string.Format(inv, "Submit to settled  : p50 {0:0} ms, p99 {1:0} ms (each task from its own publish to its settlement heard here)", P50Ms, P99Ms));
        if (FirstMs is { } firstMs) w.WriteLine(string.Format(inv, "First task         : {0:0} ms (not in p50/p99)", firstMs));
        if (GeneratorCpu is { } cpu)
            w.WriteLine(string.Format(inv, "Load generator     : {0:0.00} s CPU during the run (this process, on the same machine)", cpu.TotalSeconds));
    }

    public object ToJson() => new
    {
        tasks = Tasks, settled = Settled, rejected = Rejected, chargedOnly = ChargedOnly, reconciled = Reconciled, totalRevenue = Charged, paidToSellers = Paid, retainedByMarket = Retained,
        topSellers = Sellers.Take(5).Select(s => new { id = s.Seller, revenue = s.Revenue }),
        elapsedSeconds = Elapsed.TotalSeconds, tasksPerSecond = Tasks / Math.Max(Elapsed.TotalSeconds, 1e-9), p50Ms = P50Ms, p99Ms = P99Ms, firstTaskMs = FirstMs, generatorCpuSeconds = GeneratorCpu?.TotalSeconds,
    };
}
