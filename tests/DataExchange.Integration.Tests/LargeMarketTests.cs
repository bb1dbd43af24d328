
using System.Text.Json;
using DataExchange.Cli.Market;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// A market of 200 sellers with 4,000 steps each through the four services (issue 16): tasks settle, every ledger
/// balances, and each task's price, gain, charge and all 200 payouts are what the in-process market computes from the
/// seeds the services recorded (the services and `dx simulate` call the same MarketTask functions). Prints what a task
/// costs there, one at a time, beside the in-process mechanism's time in the same run (the README's figures).
/// Watched failing: with the in-process market given the sellers in the order they were generated instead of the order
/// the market lists them (by id, so seller-100 comes before seller-11), the first task's gain differs in the last bits.
/// </summary>
[Collection(LargeMarketCollection.Name)]
public sealed class LargeMarketTests(LargeMarketFixture market, ITestOutputHelper output)
{
    private const ulong Seed = 16;

    [Fact]
    public Task Two_hundred_sellers_settle_and_equal_the_in_process_market() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(12));
        var ct = cts.Token;
        const int sellers = 200, steps = 4000, buyers = 4;
        var scenario = SyntheticMarket.Generate(sellers, steps, buyers, Seed);
        var marketId = Scenarios.NewMarketId("large");
        var lines = new StringWriter();
        var summary = await MarketRunCommand.RunAsync(scenario,
            new MarketRunCommand.RunOptions(marketId, true, TimeSpan.FromMinutes(8), market.IngestionUrl, market.RabbitMq, Keys: market.Keys), null, lines, ct);
        Assert.Equal(buyers, summary.Settled);
        Assert.Equal(0, summary.Rejected);
        Assert.Equal(summary.Charged, summary.Paid + summary.Retained);

        var reports = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ids = reports.Select(r => r.GetProperty("taskId").GetGuid().ToString()).ToArray();
        var submitted = (await market.Events.QueryAsync<TaskSubmitted>(EventLog.Ingestion, "task_submitted", ids, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var priced = (await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", ids, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var charged = (await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", ids, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var settled = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", ids, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var paid = (await market.Events.QueryAsync<SellerPaid>(EventLog.Payout, "seller_paid", ids, ct)).Select(e => e.Data).ToLookup(p => p.TaskId);

        // The same tasks in process with the services' N and K, the seeds the market drew and the sellers in the order the
        // market lists them (by id: seller-100 before seller-11), timed in this run.
        var order = submitted.Values.First().SellerIds;
        Assert.All(submitted.Values, t => Assert.Equal(order, t.SellerIds));
        var index = scenario.Sellers.SellerIds.Select((id, m) => (id, m)).ToDictionary(x => x.id, x => x.m);
        var sellersInOrder = new FeatureSet(order, order.Select(id => scenario.Sellers.Row(index[id]).ToArray()).ToArray());
        var reference = new InProcessMarket(sellersInOrder,
            new MarketParameters { ShapleyPermutations = 200, ExpectedTasks = MarketFixture.ExpectedTasks }, Seed);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var n = 0; n < buyers; n++)
        {
            var id = reports[n].GetProperty("taskId").GetGuid();
            var buyer = scenario.Buyers[n];
            var outcome = reference.Run(buyer.Id, buyer.Target, buyer.Valuation, TaskSeeds.FromTaskSeed(priced[id].Seed));
            Assert.Equal(BitConverter.DoubleToInt64Bits(outcome.Allocation.Price), BitConverter.DoubleToInt64Bits(priced[id].Price));
            Assert.Equal(BitConverter.DoubleToInt64Bits(outcome.Allocation.Gain), BitConverter.DoubleToInt64Bits(charged[id].Gain));
            Assert.Equal(outcome.Allocation.Charge, charged[id].Charge);
            Assert.Equal(outcome.Settlement.Split.Charge, settled[id].Charge);
            Assert.Equal(settled[id].Charge, settled[id].PaidToSellers + settled[id].Retained + settled[id].Fee);
            var recorded = paid[id].ToDictionary(p => p.SellerId);
            Assert.Equal(sellers, recorded.Count);
            foreach (var p in outcome.Settlement.Split.Payouts)
            {
                Assert.Equal(p.Amount, recorded[p.SellerId].Amount);
                Assert.Equal(BitConverter.DoubleToInt64Bits(p.Share), BitConverter.DoubleToInt64Bits(recorded[p.SellerId].Share));
            }
        }
        var inProcessMs = clock.Elapsed.TotalMilliseconds / buyers;
        output.WriteLine($"M = {sellers}, T = {steps}: {buyers} tasks one at a time through the services in {summary.Elapsed.TotalSeconds:0.0} s " +
                         $"(first {summary.FirstMs:0} ms, then p50 {summary.P50Ms:0} ms submit to settled); in process {inProcessMs:0} ms a task " +
                         $"(ratio {summary.P50Ms / inProcessMs:0.0}); load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        await Scenarios.AssertNoFaultsAsync(market, ct);
    });
}

/// <summary>A market of its own for the 200-seller test: its sellers join no other test's tasks.</summary>
public sealed class LargeMarketFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class LargeMarketCollection : ICollectionFixture<LargeMarketFixture>
{
    public const string Name = "large-market";
}
