using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.Participants;
using DataExchange.Reports;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Market;

/// <summary>
/// <c>dx market run</c>: the market's main job against the running services. Registers the scenario's sellers,
/// publishes every buyer task onto the bus, listens for the payouts, and prints the seed report's summary.
/// </summary>
public static class MarketRunCommand
{
    private static readonly HashSet<string> Flags = ["--sequential", "--json", "--no-progress", .. MarketTermsOptions.Flags];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args, Flags);
        var marketPath = a.String("--market");
        var seed = a.ULong("--seed", 42);
        var sellers = a.Int("--sellers", 20, 1, 1000);
        var steps = a.Int("--steps", 400, MarketLimits.MinSeriesLength, MarketLimits.MaxSeriesLength);
        var rate = a.String("--rate") is null ? (double?)null : a.Double("--rate", 0);
        var duration = a.String("--duration") is null ? (double?)null : a.Double("--duration", 0);
        if ((rate is null) != (duration is null)) throw new UsageException("--rate and --duration go together");
        if (rate is { } r0 && !(r0 > 0 && r0 <= 10_000)) throw new UsageException($"--rate: {r0} is not in (0, 10000] tasks per second");
        if (duration is { } d0 && !(d0 > 0 && d0 <= 86_400)) throw new UsageException($"--duration: {d0} is not in (0, 86400] seconds");
        // Open loop: rate x duration tasks, published on a steady clock whatever the market's answers.
        var buyers = rate is { } r1 && duration is { } d1 ? Math.Max(1, (int)Math.Round(r1 * d1)) : a.Int("--buyers", 120, 0, 1_000_000);
        var muMin = a.Double("--mu-min", 1.0);
        var muMax = a.Double("--mu-max", 2.0);
        var givenMarketId = a.String("--market-id");
        // Terms make a market of their own: a fresh id unless one is given.
        var open = MarketTermsOptions.Parse(a, givenMarketId ?? $"run-{Guid.NewGuid():N}"[..12]);
        var marketId = open?.MarketId ?? givenMarketId ?? MarketLimits.DefaultMarket;
        var pricing = a.String("--pricing") ?? Environment.GetEnvironmentVariable("DX_PRICING_URL") ?? "http://127.0.0.1:5081";
        var sequential = a.Flag("--sequential");
        var json = a.Flag("--json");
        var noProgress = a.Flag("--no-progress");
        var timeout = TimeSpan.FromSeconds(a.Int("--timeout", 600, 1));
        var watch = a.String("--watch") ?? "payouts";
        if (watch is not ("payouts" or "settled")) throw new UsageException($"--watch: '{watch}' is not payouts or settled");
        var ingestion = a.String("--ingestion") ?? Environment.GetEnvironmentVariable("DX_INGESTION_URL") ?? "http://127.0.0.1:5080";
        var rabbit = RabbitMqOption.From(a);
        var classes = a.Int("--classes", 3, 2, Classification.MaxClasses);
        var allocation = a.String("--allocation-url") ?? Environment.GetEnvironmentVariable("DX_ALLOCATION_URL") ?? "http://127.0.0.1:5082";
        var payout = a.String("--payout") ?? Environment.GetEnvironmentVariable("DX_PAYOUT_URL") ?? "http://127.0.0.1:5083";
        var reconcileAfter = TimeSpan.FromSeconds(a.Int("--reconcile-after", 5, 1, 3600));
        // With a buyer's own URI (dx participants add) the run trades as that buyer; with the operator's, as the market's load generator.
        var buyer = Watch.WatchSession.Participant(rabbit, "buyer");
        if (Watch.WatchSession.Participant(rabbit, "seller") is { } seller)
            throw new UsageException($"--rabbitmq: the account of seller '{seller}' cannot trade; give a buyer's URI (dx participants add buyer ID) or the operator's");
        var key = a.String("--key") ?? Environment.GetEnvironmentVariable("DX_API_KEY");
        a.RejectUnknown();
        if (buyer is not null)
        {
            if (key is null) throw new UsageException($"--key: buyer '{buyer}' reconciles through its own results on allocation with its API key (dx participants add printed it), or DX_API_KEY");
            if (open is not null) throw new UsageException("market terms (--payout-rule, --perms, ...) are the operator's: a buyer trades in a market as it is");
        }
        else if (!ParticipantKeys.FromEnvironment().Configured)
            throw new UsageException("DX_KEY_SECRET is not set: the sellers' keys are issued with the market's secret (infra/services.sh keeps it in the data directory; ./run.sh exports it)");

        BusReachability.CheckAsync(rabbit, TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult();
        var scenario = marketPath is not null
            ? MarketFile.Load(marketPath)
            : SyntheticMarket.Generate(sellers, steps, buyers, seed, muMin, muMax);
        var taskKind = open?.Terms.TaskKind is { } kind ? SettingNames.Parse<TaskKind>(kind, "--task") : TaskKind.Regression;
        scenario = MarketFile.ForTaskKind(scenario, taskKind, classes, marketPath is not null);
        if (open is not null)
        {
            MarketTermsOptions.OpenAsync(pricing, ParticipantKeys.FromEnvironment(), open, CancellationToken.None).GetAwaiter().GetResult();
            if (!json) stderr.WriteLine($"market '{marketId}' is open with the given terms");
        }
        if (buyer is not null && !json) stderr.WriteLine($"trading as buyer '{buyer}' (every task in its name; the sellers are the market's, registered by the operator)");
        var summary = RunAsync(scenario, new RunOptions(marketId, sequential, timeout, ingestion, rabbit, watch == "payouts", Rate: rate,
                AllocationUrl: allocation, PayoutUrl: payout, Buyer: buyer is null ? null : new BuyerAccount(buyer, key!), ReconcileAfter: reconcileAfter,
                TaskKind: taskKind == TaskKind.Classification ? TaskKinds.Classification : null),
            !json && !noProgress && !Console.IsErrorRedirected ? new ProgressBar(stderr, scenario.Buyers.Count, "Trading on the bus") : null,
            json ? stdout : null, CancellationToken.None).GetAwaiter().GetResult();
        if (!json) summary.Print(stdout);
        else stdout.WriteLine(JsonSerializer.Serialize(new { summary = summary.ToJson() }));
        return summary.Settled + summary.Rejected + summary.ChargedOnly == scenario.Buyers.Count ? 0 : 1;
    }

    /// <summary>A buyer trading with its own account: its id and its HTTP key (for its results on allocation).</summary>
    public sealed record BuyerAccount(string Id, string Key);

    /// <param name="Keys">Issues the sellers' keys for registration (default: from DX_KEY_SECRET).</param>
    /// <param name="Rate">Open loop: publish one task every 1 / Rate seconds (tasks per second), whatever the market answers.</param>
    /// <param name="Buyer">Trade as this buyer over its own account (RabbitMq is its URI), else as the operator.</param>
    /// <param name="ReconcileAfter">With no message heard for this long, account for the pending ones from the logs (null: never).</param>
    /// <param name="TaskKind">The tasks' kind ("classification", or null for regression): the market's, or they are refused.</param>
    public sealed record RunOptions(string MarketId, bool Sequential, TimeSpan Timeout, string IngestionUrl, string RabbitMq,
        bool WatchPayouts = true, ParticipantKeys? Keys = null, double? Rate = null, string AllocationUrl = "http://127.0.0.1:5082",
        string PayoutUrl = "http://127.0.0.1:5083", BuyerAccount? Buyer = null, TimeSpan? ReconcileAfter = null, string? TaskKind = null);

    /// <summary>Runs the scenario's tasks through the services (each task's randomness is the market's own draw).</summary>
    public static async Task<RunSummary> RunAsync(MarketScenario scenario, RunOptions o, ProgressBar? progress, TextWriter? jsonLines, CancellationToken ct)
    {
        var keys = o.Keys ?? ParticipantKeys.FromEnvironment();
        await using var client = o.Buyer is { } buyer
            ? await MarketClient.ConnectAsParticipantAsync(o.RabbitMq, "buyer", buyer.Id, o.IngestionUrl, keys, ct)
            : await MarketClient.ConnectAsync(o.RabbitMq, o.IngestionUrl, ct, o.WatchPayouts, keys, priceUpdates: o.Sequential);
        // A buyer cannot register sellers (their keys are theirs): the operator has.
        if (o.Buyer is null) await client.RegisterSellersAsync(scenario.Sellers, ct);
        var reconciler = new MarketReconciler(client, o.AllocationUrl, o.PayoutUrl,
            o.Buyer is { } own ? (_, _) => own.Key : keys.Issue, scenario.Sellers.SellerIds, operatorView: o.Buyer is null,
            since: DateTimeOffset.UtcNow.AddMinutes(-1));
        // Mutation watched failing (CatchUpTests.Market_run_whose_messages_stop_coming...: 12 of 12 tasks unconfirmed, exit 5): no reconciler here.
        Func<IReadOnlyCollection<Guid>, CancellationToken, Task>? reconcile = o.ReconcileAfter is null ? null : reconciler.RoundAsync;
        var ids = scenario.Buyers.Select(_ => Guid.NewGuid()).ToArray();
        var clock = Stopwatch.StartNew();
        var cpuAtStart = Environment.CpuUsage.TotalTime;
        SubmitPredictionTask Task(int n)
        {
            var b = scenario.Buyers[n];
            return new SubmitPredictionTask(ids[n], o.Buyer?.Id ?? b.Id, b.Valuation, b.Target, 0, null, o.MarketId, o.TaskKind);
        }
        // A publish refused while the broker is away is sent again (the market takes a task once, by its id).
        var publishDeadline = DateTime.UtcNow + o.Timeout;
        async Task Submit(int n, CancellationToken token)
        {
            while (true)
            {
                try
                {
                    // A publish caught in a broker restart can also hang, unconfirmed (seen once in SubscriberFaultTests: 2 of
                    // 90 tasks never reached the market and the run waited on them): give each attempt 15 s, then send again.
                    await client.SubmitAsync(Task(n), token).WaitAsync(TimeSpan.FromSeconds(15), token);
                    return;
                }
                catch (Exception) when (!token.IsCancellationRequested && DateTime.UtcNow < publishDeadline)
                {
                    await System.Threading.Tasks.Task.Delay(500, token);
                }
            }
        }
        if (o.Sequential)
        {
            for (var n = 0; n < ids.Length; n++)
            {
                // One at a time: the price update of task n is applied before task n + 1 is quoted, as in dx simulate.
                await Submit(n, ct);
                await Confirmed(client, ids, o, progress, () => client.WaitAsync(ids[n], r => r.Rejected is not null || (r.Done(o.WatchPayouts) && r.PriceUpdate is not null), o.Timeout, ct));
                progress?.Report(n + 1);
            }
        }
        else if (o.Rate is { } rate)
        {
            // Open loop: task n is published at n / rate seconds from the start, so a slow market meets a steady arrival rate
            // (a closed loop would slow down with it and hide the queueing); each task's latency runs from its own publish.
            var start = Stopwatch.GetTimestamp();
            var publishes = new List<Task>(ids.Length);
            for (var n = 0; n < ids.Length; n++)
            {
                var due = TimeSpan.FromSeconds(n / rate) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero) await System.Threading.Tasks.Task.Delay(due, ct);
                publishes.Add(Submit(n, ct));
            }
            await System.Threading.Tasks.Task.WhenAll(publishes);
            await Confirmed(client, ids, o, progress, () => client.WaitAllAsync(ids, o.Timeout, d => progress?.Report(d), ct, reconcile, o.ReconcileAfter));
        }
        else
        {
            // A burst: every task published at once (publishes overlap; the broker confirms each).
            await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
                async (n, token) => await Submit(n, token));
            await Confirmed(client, ids, o, progress, () => client.WaitAllAsync(ids, o.Timeout, d => progress?.Report(d), ct, reconcile, o.ReconcileAfter));
        }
        var elapsed = clock.Elapsed;
        var generatorCpu = Environment.CpuUsage.TotalTime - cpuAtStart;
        progress?.Done();
        var reports = ids.Select(client.Report).ToList();
        if (jsonLines is not null)
            for (var n = 0; n < reports.Count; n++) jsonLines.WriteLine(TaskLine(n, reports[n]));
        return RunSummary.From(scenario, reports, elapsed) with { GeneratorCpu = generatorCpu, Reconciled = reconciler.Reconciled, AsBuyer = o.Buyer is not null };
    }

    /// <summary>
    /// Waits as <paramref name="wait"/> does; at the timeout, not a crash but the published tasks not heard settled or
    /// rejected (the market may still settle them), for dx to list with exit code 5.
    /// </summary>
    private static async Task Confirmed(MarketClient client, Guid[] ids, RunOptions o, ProgressBar? progress, Func<Task> wait)
    {
        try
        {
            await wait();
        }
        catch (TimeoutException e) when (e is not TasksUnconfirmedException)
        {
            progress?.Done();
            var unconfirmed = ids.Where(id => { var r = client.Report(id); lock (r) return r.PublishedAt > 0 && !r.Done(o.WatchPayouts); }).ToList();
            throw new TasksUnconfirmedException(unconfirmed, ids.Length, o.Timeout);
        }
    }

    private static string TaskLine(int index, TaskReport r) => JsonSerializer.Serialize(new
    {
        task = index,
        taskId = r.TaskId,
        buyer = r.Charged?.BuyerId ?? r.Rejected?.BuyerId,
        rejected = r.Rejected is null ? null : new { field = r.Rejected.Field, reason = r.Rejected.Reason },
        price = r.Charged?.Price,
        bid = r.Charged?.Bid ?? r.Accepted?.Bid,
        gain = r.Charged?.Gain,
        revenue = r.Charged?.Charge ?? r.Settled?.Charge,
        retained = r.Settled?.Retained,
        payouts = r.Payouts.Values.OrderBy(p => p.SellerId, StringComparer.Ordinal).Select(p => new { seller = p.SellerId, share = p.Share, payout = p.Amount }),
    });
}

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

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

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
