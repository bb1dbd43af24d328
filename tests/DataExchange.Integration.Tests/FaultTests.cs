using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using Stopwatch = System.Diagnostics.Stopwatch;
using System.Globalization;
using DataExchange.Cli;
using DataExchange.Cli.Participants;
using DataExchange.Cli.Watch;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// Faults during a run of a few hundred tasks: each service killed (SIGKILL) at a random moment and restarted; RabbitMQ
/// restarted; PostgreSQL restarted; messages delivered twice on purpose. After recovery every accepted task is settled
/// exactly once, no SellerPaid is duplicated, each price update is applied exactly once and total charged equals total
/// paid out plus retained, to the last decimal. Completion is read from the stores, not from the bus (a broker restart
/// drops the observer's temporary queue). Each scenario prints: tasks, faults injected, lost, duplicated.
/// Run as the market is meant to: two instances each of allocation and payout consuming competitively (issue 12), and
/// participants connected (issue 11): a seller's `dx watch payouts` and a buyer's `dx watch results`, each a process over
/// its own account, subscribed through every scenario; afterwards each has shown exactly its own lines, each once.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests(FaultFixture market, ITestOutputHelper output)
{
    private const int Tasks = 200;
    private static readonly Lazy<MarketScenario> Scenario = new(() => SyntheticMarket.Generate(20, 400, Tasks, Scenarios.Seed));

    [Fact]
    public Task Each_service_killed_and_restarted() => Run("kill -9 each service", async (_, rng, ct) =>
    {
        var faults = 0;
        foreach (var service in MarketFixture.Services)
        {
            await Task.Delay(rng.Next(200, 1500), ct);
            var victim = market.Processes.First(p => p.Name.StartsWith(service, StringComparison.OrdinalIgnoreCase) && !p.HasExited);
            await market.StopInstanceAsync(victim); // Process.Kill: SIGKILL, no shutdown hooks
            faults++;
            await market.StartInstanceAsync(service, ct);
        }
        return faults;
    });

    [Fact]
    public Task RabbitMq_restarted() => Run("restart RabbitMQ", async (_, rng, ct) =>
    {
        await Task.Delay(rng.Next(300, 1500), ct);
        await Infra(market.RepoRoot, "rabbitmq", ct);
        return 1;
    });

    [Fact]
    public Task Postgres_restarted() => Run("restart PostgreSQL", async (_, rng, ct) =>
    {
        await Task.Delay(rng.Next(300, 1500), ct);
        await Infra(market.RepoRoot, "postgres", ct);
        return 1;
    });

    [Fact]
    public Task Messages_delivered_twice() => Run("deliver twice", async (ids, rng, ct) =>
    {
        // Commands sent twice by the buyer, and events the forwarders already published sent again (new message ids).
        // A first delivery is not checked against the task markers (TaskMarkers.ToDoAsync): these duplicates are refused
        // by the commit itself. Mutation watched failing: payout appending to the task's stream instead of starting it and
        // storing its marker instead of inserting it (nothing refuses a duplicate then): 1,911 duplicated.
        // Not before some tasks are in: on a loaded machine none may be accepted within the first second.
        await Task.Delay(rng.Next(500, 1500), ct);
        var keys = ids.Select(i => i.ToString()).ToArray();
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (await market.Events.QueryAsync(EventLog.Ingestion, "task_submitted", keys, ct)).Count >= 20, TimeSpan.FromSeconds(60), ct),
            "deliver twice: fewer than 20 tasks accepted within a minute, nothing to deliver twice");
        var faults = 0;
        foreach (var e in await market.Events.QueryAsync(EventLog.Ingestion, "task_submitted", keys, ct))
        {
            if (rng.NextDouble() > 0.3) continue;
            var t = e.Data<TaskSubmitted>();
            await market.Client.SubmitAsync(new SubmitPredictionTask(t.TaskId, t.BuyerId, t.Bid, t.Target, t.FromStep, null, t.MarketId), ct);
            await market.Client.Bus.Publish(t, ct);
            faults += 2;
        }
        await Task.Delay(1000, ct);
        foreach (var e in await market.Events.QueryAsync(EventLog.Pricing, "task_priced", keys, ct))
            if (rng.NextDouble() < 0.3) { await market.Client.Bus.Publish(e.Data<TaskPriced>(), ct); faults++; }
        foreach (var e in await market.Events.QueryAsync(EventLog.Allocation, "payment_charged", keys, ct))
            if (rng.NextDouble() < 0.3) { await market.Client.Bus.Publish(e.Data<PaymentCharged>(), ct); faults++; }
        return faults;
    });

    private Task Run(string name, Func<Guid[], Random, CancellationToken, Task<int>> inject) => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = cts.Token;
        var scenario = Scenario.Value;
        var sellers = market.Sellers(scenario.Sellers);
        await market.EnsureSellersAsync(sellers, ct);
        var subscribers = await market.StartSubscribersAsync(sellers, ct);
        try
        {
            await RunScenario(name, inject, scenario, ct);
            await subscribers.AssertEachOwnLineOnceAsync(name, output, ct);
        }
        finally
        {
            await subscribers.DisposeAsync();
        }
    });

    private async Task RunScenario(string name, Func<Guid[], Random, CancellationToken, Task<int>> inject, MarketScenario scenario, CancellationToken ct)
    {
        var marketId = Scenarios.NewMarketId("fault");
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal));
        var ids = Enumerable.Range(0, Tasks).Select(_ => Guid.NewGuid()).ToArray();
        var clock = Stopwatch.StartNew();

        var submitting = Task.Run(async () =>
        {
            for (var n = 0; n < Tasks; n++)
            {
                var b = scenario.Buyers[n];
                // Every tenth task is the participant buyer's (the operator's client may publish in any buyer's name).
                var task = new SubmitPredictionTask(ids[n], n % 10 == 3 ? market.Buyer : b.Id, b.Valuation, b.Target, 0, null, marketId);
                // A buyer whose publish fails (broker restarting) sends again: the market accepts a task once.
                while (true)
                {
                    try { await market.Client.SubmitAsync(task, ct); break; }
                    catch (Exception) when (!ct.IsCancellationRequested) { await Task.Delay(250, ct); }
                }
                if (n % 20 == 19) await Task.Delay(100, ct); // a few hundred tasks over a couple of seconds
            }
        }, ct);
        var faults = await inject(ids, rng, ct);
        await submitting;

        var keys = ids.Select(i => i.ToString()).ToArray();
        // Settlement and the price update of a task run in parallel (payout and pricing both consume PaymentCharged).
        var settledAll = await MarketFixture.EventuallyAsync(async () =>
            (await market.Events.QueryAsync(EventLog.Payout, "task_settled", keys, ct)).Select(e => e.StreamId).Distinct().Count() == Tasks
            && (await market.Events.QueryAsync(EventLog.Pricing, "market_price_updated", [marketId], ct)).Count >= Tasks,
            TimeSpan.FromMinutes(5), ct);
        await Task.Delay(2000, ct); // anything extra (a duplicate) would land now

        var submitted = await market.Events.QueryAsync(EventLog.Ingestion, "task_submitted", keys, ct);
        var priced = await market.Events.QueryAsync(EventLog.Pricing, "task_priced", keys, ct);
        var charged = await market.Events.QueryAsync(EventLog.Allocation, "payment_charged", keys, ct);
        var settled = await market.Events.QueryAsync(EventLog.Payout, "task_settled", keys, ct);
        var paid = await market.Events.QueryAsync(EventLog.Payout, "seller_paid", keys, ct);
        var updates = await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [marketId], ct);

        var accepted = submitted.Select(e => e.StreamId).ToHashSet();
        int Extra(IEnumerable<string> keysSeen) => keysSeen.GroupBy(k => k).Sum(g => g.Count() - 1);
        var lost = accepted.Count(k => !settled.Any(s => s.StreamId == k)) + (Tasks - accepted.Count);
        var duplicated = Extra(submitted.Select(e => e.StreamId)) + Extra(priced.Select(e => e.StreamId)) + Extra(charged.Select(e => e.StreamId))
            + Extra(settled.Select(e => e.StreamId)) + Extra(paid.Select(e => e.StreamId + "/" + e.Data<SellerPaid>().SellerId))
            + Extra(updates.Select(u => u.Data.TaskId.ToString()));
        output.WriteLine($"{name}: tasks {Tasks}, faults injected {faults}, lost {lost}, duplicated {duplicated} ({clock.Elapsed.TotalSeconds:0.0} s)");
        Console.WriteLine($"[faults] {name}: tasks {Tasks}, faults injected {faults}, lost {lost}, duplicated {duplicated}");

        Assert.True(settledAll, $"{name}: not every task settled and updated the price within 5 minutes");
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
        Assert.True(faults > 0, "no fault was injected");
        Assert.Equal(Tasks, updates.Count);

        // Every payout matches its settlement and the ledger balances exactly, per task and in total.
        var paidByTask = paid.Select(e => e.Data<SellerPaid>()).ToLookup(p => p.TaskId.ToString());
        decimal charge = 0, out_ = 0, kept = 0;
        foreach (var s in settled.Select(e => e.Data<TaskSettled>()))
        {
            var sum = paidByTask[s.TaskId.ToString()].Sum(p => p.Amount);
            Assert.Equal(s.PaidToSellers, sum);
            Assert.Equal(s.Charge, s.PaidToSellers + s.Retained + s.Fee);
            charge += s.Charge; out_ += s.PaidToSellers; kept += s.Retained + s.Fee;
        }
        Assert.Equal(charge, out_ + kept);
        Assert.Equal(charge, charged.Sum(e => e.Data<PaymentCharged>().Charge));
    }

    /// <summary>infra/restart.sh SERVER [SECONDS_DOWN]: restarts a shared server (RabbitMQ down that long first).</summary>
    internal static async Task Infra(string repoRoot, string server, CancellationToken ct, int secondsDown = 0)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = repoRoot };
        psi.ArgumentList.Add(Path.Combine(repoRoot, "infra", "restart.sh"));
        psi.ArgumentList.Add(server);
        if (secondsDown > 0) psi.ArgumentList.Add(secondsDown.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0) throw new InvalidOperationException($"infra/restart.sh {server} failed: {await err}");
        // The test's own pooled connections died with the server; the services recover on their own.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}

/// <summary>
/// The fault suite's market: two instances each of allocation and payout (competing consumers on the same queues), sellers
/// and a participant buyer named for this run (broker accounts are per server), and the participants' subscribers.
/// </summary>
public sealed class FaultFixture : MarketFixture
{
    protected override IReadOnlyList<string> ServicesAtStart => [.. Services, "Allocation", "Payout"];

    /// <summary>Broker accounts are per server: the participants' go with the market.</summary>
    public override async Task DisposeAsync()
    {
        foreach (var account in new[] { _seller, _buyer }.OfType<ParticipantCredentials>())
            await Rabbit.DeleteUserAsync(ParticipantBus.Account(account.Role, account.Id), CancellationToken.None);
        await base.DisposeAsync();
    }

    private readonly SemaphoreSlim _once = new(1, 1);
    private ParticipantCredentials? _seller, _buyer;

    /// <summary>The participant buyer (every tenth task of each scenario is in its name).</summary>
    public string Buyer => $"fb-{RunId}";

    /// <summary>The scenario's sellers under ids of this run (same series).</summary>
    public FeatureSet Sellers(FeatureSet sellers) =>
        new(sellers.SellerIds.Select(id => $"{id}-{RunId}").ToArray(), Enumerable.Range(0, sellers.Sellers).Select(m => sellers.Row(m).ToArray()).ToList());

    private string Url(string service) => Processes.First(p => p.Name.StartsWith(service, StringComparison.OrdinalIgnoreCase) && !p.HasExited).Url;

    /// <summary>
    /// Starts a seller's `dx watch payouts` and a buyer's `dx watch results` over their own accounts (made, with their
    /// durable queues, before the first scenario's first task). Each writes to one file for the whole suite and catches up
    /// from the beginning: a subscriber stopped between scenarios and started again, as a user's would be.
    /// </summary>
    public async Task<FaultSubscribers> StartSubscribersAsync(FeatureSet sellers, CancellationToken ct)
    {
        await _once.WaitAsync(ct);
        try
        {
            if (_seller is null)
            {
                using var broker = new BrokerManagement(RabbitMq, null);
                var accounts = new ParticipantAccounts(broker, Keys);
                _seller = await accounts.AddAsync("seller", sellers.SellerIds[3], ct);
                _buyer = await accounts.AddAsync("buyer", Buyer, ct);
            }
        }
        finally
        {
            _once.Release();
        }
        var dir = Path.Combine(LogDirectory, "subscribers");
        Directory.CreateDirectory(dir);
        var subscribers = new FaultSubscribers(this, _seller.Id, Buyer, Path.Combine(dir, "payouts.txt"), Path.Combine(dir, "results.txt"));
        subscribers.Payouts = DxProcess.Start(RepoRoot, "watch payouts", ["watch", "payouts", "--rabbitmq", _seller.AmqpUri, "--key", _seller.ApiKey,
            "--payout", Url("Payout"), "--since", "0", "--output", subscribers.PayoutsFile]);
        subscribers.Results = DxProcess.Start(RepoRoot, "watch results", ["watch", "results", "--rabbitmq", _buyer!.AmqpUri, "--key", _buyer.ApiKey,
            "--allocation-url", Url("Allocation"), "--since", "0", "--output", subscribers.ResultsFile]);
        foreach (var (p, what) in new[] { (subscribers.Payouts, "payouts"), (subscribers.Results, "results") })
            if (!await p.StderrContainsAsync($"dx: watching {what}", TimeSpan.FromSeconds(90), ct))
            {
                await subscribers.DisposeAsync();
                throw new InvalidOperationException($"dx watch {what} did not start: {p.Stderr}");
            }
        return subscribers;
    }
}

/// <summary>The participants' subscribers during a fault scenario, and what they must have shown afterwards.</summary>
public sealed class FaultSubscribers(MarketFixture market, string seller, string buyer, string payoutsFile, string resultsFile) : IAsyncDisposable
{
    public string PayoutsFile => payoutsFile;
    public string ResultsFile => resultsFile;
    public DxProcess? Payouts { get; set; }
    public DxProcess? Results { get; set; }

    /// <summary>
    /// The seller's file holds exactly its line of every task settled in this market, the buyer's exactly its result of
    /// every task it was charged for, each once (what a broker restart dropped in flight came back from the queue or the
    /// catch-up when the subscriber started again).
    /// </summary>
    public async Task AssertEachOwnLineOnceAsync(string name, ITestOutputHelper output, CancellationToken ct)
    {
        var settled = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", null, ct)).Select(e => e.Data).ToList();
        var lines = settled.Where(t => t.Payouts!.Any(p => p.SellerId == seller)).ToDictionary(t => t.TaskId, t => t.Payouts!.Single(p => p.SellerId == seller).Amount);
        var charged = (await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", null, ct))
            .Select(e => e.Data).Where(c => c.BuyerId == buyer).GroupBy(c => c.TaskId).ToDictionary(g => g.Key, g => g.First().Charge);
        await MarketFixture.EventuallyAsync(() => Task.FromResult(Lines(payoutsFile).Count >= lines.Count && Lines(resultsFile).Count >= charged.Count),
            TimeSpan.FromMinutes(2), ct);
        await Task.Delay(2000, ct); // a duplicate would land now
        var shown = Lines(payoutsFile).Select(l => (Key: WatchPayoutsCommand.KeyOf(l)!.Value, Amount: decimal.Parse(l.Split("amount ")[1].Split(' ')[0], CultureInfo.InvariantCulture))).ToList();
        var results = Lines(resultsFile).Select(l => (Task: WatchResultsCommand.KeyOf(l)!.Value, Charge: decimal.Parse(l.Split("charge ")[1].Split(' ')[0], CultureInfo.InvariantCulture))).ToList();
        var duplicated = shown.Count - shown.Select(x => x.Key).Distinct().Count() + results.Count - results.Select(x => x.Task).Distinct().Count();
        var lost = lines.Keys.Count(t => !shown.Any(x => x.Key.Task == t)) + charged.Keys.Count(t => !results.Any(x => x.Task == t));
        var foreign = shown.Count(x => x.Key.Seller != seller || !lines.ContainsKey(x.Key.Task)) + results.Count(x => !charged.ContainsKey(x.Task));
        output.WriteLine($"{name}: participants' lines {lines.Count}, results {charged.Count}, lost {lost}, duplicated {duplicated}, others' {foreign}");
        Console.WriteLine($"[faults] {name}: participants' lines {lines.Count}, results {charged.Count}, lost {lost}, duplicated {duplicated}, others' {foreign}");
        Assert.True(lines.Count > 0 && charged.Count > 0, "the participants had nothing to receive");
        Assert.True(lost == 0 && duplicated == 0 && foreign == 0,
            $"{name}: participants lost {lost}, duplicated {duplicated}, got others' {foreign}\n{Payouts?.Stderr}\n{Results?.Stderr}");
        Assert.All(shown, x => Assert.Equal(lines[x.Key.Task], x.Amount));
        Assert.All(results, x => Assert.Equal(charged[x.Task], x.Charge));
    }

    /// <summary>The complete lines of a subscriber's output file (a line cut short by a kill has no newline yet).</summary>
    public static List<string> Lines(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var lines = new StreamReader(stream).ReadToEnd().Split('\n');
        return lines.Take(lines.Length - 1).Where(l => l.Length > 0).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        if (Payouts is not null) await Payouts.DisposeAsync();
        if (Results is not null) await Results.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultFixture>
{
    public const string Name = "faults";
}
