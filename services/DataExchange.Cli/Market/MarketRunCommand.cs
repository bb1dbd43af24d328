using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DataExchange.Client;
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
    public static Command Create()
    {
        var scenario = new SimulateCommand.ScenarioOptions(MarketLimits.MaxSeriesLength, MarketLimits.MinSeriesLength);
        var buyers = Opt.Int("--buyers", 120, 0, 1_000_000, "synthetic market: number of buyer tasks");
        var mechanism = new MechanismOptions();
        var marketId = Opt.Text("--market-id", "ID", "the market (pricing stream) to trade in (default \"default\"; with terms options, a fresh one)");
        var pricing = ServerOptions.Url("--pricing", "DX_PRICING_URL", "http://127.0.0.1:5081", "pricing's HTTP address, to open a market");
        var ingestion = ServerOptions.Url("--ingestion", "DX_INGESTION_URL", "http://127.0.0.1:5080", "ingestion's HTTP address");
        var allocation = ServerOptions.Url("--allocation-url", "DX_ALLOCATION_URL", "http://127.0.0.1:5082", "allocation's HTTP address (a buyer's results)");
        var payout = ServerOptions.Url("--payout", "DX_PAYOUT_URL", "http://127.0.0.1:5083", "payout's HTTP address (the sellers' payment lines)");
        var rabbit = ServerOptions.RabbitMq("the bus (default DX_RABBITMQ); a buyer's own URI (dx participants add buyer ID) trades as that buyer, needs --key");
        var key = Opt.Text("--key", "KEY", "that buyer's API key (default DX_API_KEY), to read its results on allocation");
        var sequential = Opt.Flag("--sequential", "one task at a time (each price update lands before the next quote)");
        var rate = Opt.OptionalDouble("--rate", "open loop: R tasks per second (with --duration), each task's latency from its own publish");
        var duration = Opt.OptionalDouble("--duration", "open loop: for S seconds (with --rate)");
        var reconcileAfter = Opt.Int("--reconcile-after", 5, 1, 3600, "with no task finished for S seconds, account for the pending ones from the market's logs");
        var timeout = Opt.Int("--timeout", 600, 1, int.MaxValue, "give up after S seconds: exit 5, the unconfirmed tasks' ids on stdout");
        var watch = Opt.Text("--watch", "payouts|settled", "receive every SellerPaid (default) or only settlements (a lighter observer)");
        var json = Opt.Flag("--json", "one JSON line per task, then a summary line");
        var noProgress = Opt.Flag("--no-progress", "no progress bar even on a terminal");
        var command = new Command("run", "the main job against the running services: registers the sellers over HTTP, publishes the buyer tasks onto " +
            "the bus, receives the payouts as a bus subscriber, prints the summary. Terms options open a market with those terms first.");
        mechanism.AddTo(scenario.AddTo(command)).With(buyers, marketId, pricing, ingestion, allocation, payout, rabbit, key, sequential, rate, duration,
            reconcileAfter, timeout, watch, json, noProgress);
        command.SetAction(r =>
        {
            var (stdout, stderr) = (r.Out(), r.Err());
            var (perSecond, seconds) = (r.GetValue(rate), r.GetValue(duration));
            if ((perSecond is null) != (seconds is null)) throw new UsageException("--rate and --duration go together");
            if (perSecond is { } r0 && !(r0 > 0 && r0 <= 10_000)) throw new UsageException($"--rate: {r0} is not in (0, 10000] tasks per second");
            if (seconds is { } d0 && !(d0 > 0 && d0 <= 86_400)) throw new UsageException($"--duration: {d0} is not in (0, 86400] seconds");
            // Open loop: rate x duration tasks, published on a steady clock whatever the market's answers.
            var tasks = perSecond is { } r1 && seconds is { } d1 ? Math.Max(1, (int)Math.Round(r1 * d1)) : r.GetValue(buyers);
            // Terms make a market of their own: a fresh id unless one is given.
            var open = MarketTermsOptions.Parse(mechanism.Parse(r), r.GetValue(marketId) ?? $"run-{Guid.NewGuid():N}"[..12]);
            var market = open?.MarketId ?? r.GetValue(marketId) ?? MarketLimits.DefaultMarket;
            var watching = r.GetValue(watch) ?? "payouts";
            if (watching is not ("payouts" or "settled")) throw new UsageException($"--watch: '{watching}' is not payouts or settled");
            var bus = r.RabbitMqOf(rabbit);
            // With a buyer's own URI (dx participants add) the run trades as that buyer; with the operator's, as the market's load generator.
            var buyer = Watch.WatchSession.Participant(bus, "buyer");
            if (Watch.WatchSession.Participant(bus, "seller") is { } seller)
                throw new UsageException($"--rabbitmq: the account of seller '{seller}' cannot trade; give a buyer's URI (dx participants add buyer ID) or the operator's");
            var apiKey = r.GetValue(key) ?? Environment.GetEnvironmentVariable("DX_API_KEY");
            if (buyer is not null)
            {
                if (apiKey is null) throw new UsageException($"--key: buyer '{buyer}' reconciles through its own results on allocation with its API key (dx participants add printed it), or DX_API_KEY");
                if (open is not null) throw new UsageException("market terms (--payout-rule, --perms, ...) are the operator's: a buyer trades in a market as it is");
            }
            else if (!ParticipantKeys.FromEnvironment().Configured)
                throw new UsageException("DX_KEY_SECRET is not set: the sellers' keys are issued with the market's secret (infra/services.sh keeps it in the data directory; ./run.sh exports it)");

            BusReachability.CheckAsync(bus, TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult();
            var loaded = scenario.Load(r, tasks);
            var taskKind = open?.Terms.TaskKind is { } kind ? SettingNames.Parse<TaskKind>(kind, "--task") : TaskKind.Regression;
            loaded = MarketFile.ForTaskKind(loaded, taskKind, r.GetValue(scenario.Classes), r.GetValue(scenario.Market) is not null);
            var quiet = r.GetValue(json);
            if (open is not null)
            {
                MarketTermsOptions.OpenAsync(r.UrlOf(pricing, "DX_PRICING_URL", "http://127.0.0.1:5081"), ParticipantKeys.FromEnvironment(), open, CancellationToken.None)
                    .GetAwaiter().GetResult();
                if (!quiet) stderr.WriteLine($"market '{market}' is open with the given terms");
            }
            if (buyer is not null && !quiet) stderr.WriteLine($"trading as buyer '{buyer}' (every task in its name; the sellers are the market's, registered by the operator)");
            var summary = RunAsync(loaded, new RunOptions(market, r.GetValue(sequential), TimeSpan.FromSeconds(r.GetValue(timeout)),
                    r.UrlOf(ingestion, "DX_INGESTION_URL", "http://127.0.0.1:5080"), bus, watching == "payouts", Rate: perSecond,
                    AllocationUrl: r.UrlOf(allocation, "DX_ALLOCATION_URL", "http://127.0.0.1:5082"), PayoutUrl: r.UrlOf(payout, "DX_PAYOUT_URL", "http://127.0.0.1:5083"),
                    Buyer: buyer is null ? null : new BuyerAccount(buyer, apiKey!), ReconcileAfter: TimeSpan.FromSeconds(r.GetValue(reconcileAfter)),
                    TaskKind: taskKind == TaskKind.Classification ? TaskKinds.Classification : null),
                !quiet && !r.GetValue(noProgress) && !Console.IsErrorRedirected ? new ProgressBar(stderr, loaded.Buyers.Count, "Trading on the bus") : null,
                quiet ? stdout : null, CancellationToken.None).GetAwaiter().GetResult();
            if (!quiet) summary.Print(stdout);
            else stdout.WriteLine(JsonSerializer.Serialize(new { summary = summary.ToJson() }));
            return summary.Settled + summary.Rejected + summary.ChargedOnly == loaded.Buyers.Count ? 0 : 1;
        });
        return command;
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
            ? await MarketClient.ConnectAsParticipantAsync(o.RabbitMq, "buyer", buyer.Id, o.IngestionUrl, ct)
            : await MarketClient.ConnectAsync(o.RabbitMq, o.IngestionUrl, ct, o.WatchPayouts, priceUpdates: o.Sequential);
        // A buyer cannot register sellers (their keys are theirs): the operator has.
        if (o.Buyer is null) await client.RegisterSellersAsync(scenario.Sellers, keys, ct);
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
