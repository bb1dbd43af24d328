using Process = System.Diagnostics.Process;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using Stopwatch = System.Diagnostics.Stopwatch;
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
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        var ct = cts.Token;
        var scenario = Scenario.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("fault");
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal));
        var ids = Enumerable.Range(0, Tasks).Select(_ => Guid.NewGuid()).ToArray();
        var clock = Stopwatch.StartNew();

        var submitting = Task.Run(async () =>
        {
            for (var n = 0; n < Tasks; n++)
            {
                var b = scenario.Buyers[n];
                var task = new SubmitPredictionTask(ids[n], b.Id, b.Valuation, b.Target, 0, null, marketId);
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
    });

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

public sealed class FaultFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultFixture>
{
    public const string Name = "faults";
}
