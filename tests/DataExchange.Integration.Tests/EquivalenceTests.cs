using System.Text.Json;
using System.Text.Json.Nodes;
using DataExchange.Cli;
using DataExchange.Cli.Market;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// The services, one task at a time, are the in-process market: on a market loaded from a market file, every task's
/// price, gain, revenue curve, charge, updated weights, and every seller's share and payout are bitwise equal (doubles)
/// or equal (decimals) to what <see cref="InProcessMarket"/> computes with the services' N and K.
/// Runs on a market of its own, so no other test's sellers join its tasks.
/// </summary>
[Collection(EquivalenceCollection.Name)]
public sealed class EquivalenceTests(EquivalenceFixture market, ITestOutputHelper output)
{
    private const ulong Seed = 7;

    [Fact]
    public Task SequentialRun_EqualsInProcessMarket_Bitwise() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;

        // A market file: 8 sellers x 200 steps, 25 buyers; ids that sort in file order.
        var generated = SyntheticMarket.Generate(8, 200, 25, Seed);
        var file = new JsonObject
        {
            ["sellers"] = new JsonArray(Enumerable.Range(0, generated.Sellers.Sellers).Select(m => (JsonNode)new JsonObject
            {
                ["id"] = $"eq-seller-{m:D2}",
                ["values"] = new JsonArray(generated.Sellers.Row(m).ToArray().Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            }).ToArray()),
            ["buyers"] = new JsonArray(generated.Buyers.Select((b, n) => (JsonNode)new JsonObject
            {
                ["id"] = $"eq-buyer-{n:D3}",
                ["bid"] = b.Valuation,
                ["target"] = new JsonArray(b.Target.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            }).ToArray()),
        };
        var path = Path.Combine(market.LogDirectory, "equivalence-market.json");
        await File.WriteAllTextAsync(path, file.ToJsonString(), ct);
        var scenario = MarketFile.Load(path);
        Assert.Equal(Enumerable.Range(0, 8).Select(m => $"eq-seller-{m:D2}"), scenario.Sellers.SellerIds);
        Assert.Equal(scenario.Sellers.SellerIds.Order(StringComparer.Ordinal), scenario.Sellers.SellerIds);

        // Through the services, one at a time (as dx market run --sequential).
        var marketId = Scenarios.NewMarketId("eq");
        var lines = new StringWriter();
        var summary = await MarketRunCommand.RunAsync(scenario,
            new MarketRunCommand.RunOptions(marketId, true, TimeSpan.FromSeconds(120), market.IngestionUrl, market.RabbitMq, Keys: market.Keys), null, lines, ct);
        output.WriteLine($"{summary.Tasks} tasks one at a time in {summary.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(scenario.Buyers.Count, summary.Settled);
        Assert.Equal(0, summary.Rejected);

        var reports = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(scenario.Buyers.Count, reports.Count);
        var taskIds = reports.Select(r => r.GetProperty("taskId").GetGuid()).ToArray();
        var keys = taskIds.Select(t => t.ToString()).ToArray();

        var submitted = (await market.Events.QueryAsync<TaskSubmitted>(EventLog.Ingestion, "task_submitted", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var priced = (await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var charged = (await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var settled = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var paid = (await market.Events.QueryAsync<SellerPaid>(EventLog.Payout, "seller_paid", keys, ct)).Select(e => e.Data).ToLookup(p => p.TaskId);
        var updates = await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [marketId], ct);
        Assert.Equal(scenario.Buyers.Count, updates.Count);

        // In process, with the services' parameters (N = Market__ExpectedTasks, K = 200) and the seeds the market drew and
        // recorded for each task (TaskPriced): the services' log replayed through the library.
        var reference = new InProcessMarket(scenario.Sellers,
            new MarketParameters { ShapleyPermutations = 200, ExpectedTasks = MarketFixture.ExpectedTasks }, Seed);
        var expected = new List<(TaskOutcome Outcome, double[] Weights)>();
        for (var n = 0; n < scenario.Buyers.Count; n++)
        {
            var buyer = scenario.Buyers[n];
            expected.Add((reference.Run(buyer.Id, buyer.Target, buyer.Valuation, TaskSeeds.FromTaskSeed(priced[taskIds[n]].Seed)),
                reference.State.Weights.ToArray()));
        }
        // The market drew each task's seed itself: all different, and none the seed a buyer-side derivation would give.
        Assert.Equal(taskIds.Length, taskIds.Select(id => priced[id].Seed).Distinct().Count());
        Assert.DoesNotContain(taskIds.Select((id, n) => (id, n)), x => priced[x.id].Seed == TaskSeeds.TaskSeed(Seed, x.n) || priced[x.id].Seed == TaskSeeds.TaskSeed(x.id));

        var mismatches = new List<string>();
        void Same(int n, string what, double service, double inProcess)
        {
            if (BitConverter.DoubleToInt64Bits(service) != BitConverter.DoubleToInt64Bits(inProcess))
                mismatches.Add($"task {n} {what}: services {service:R}, in process {inProcess:R}");
        }
        void SameDecimal(int n, string what, decimal service, decimal inProcess)
        {
            if (service != inProcess) mismatches.Add($"task {n} {what}: services {service}, in process {inProcess}");
        }

        for (var n = 0; n < scenario.Buyers.Count; n++)
        {
            var (outcome, weights) = expected[n];
            var id = taskIds[n];
            var report = reports[n];
            Assert.Equal(scenario.Sellers.SellerIds, submitted[id].SellerIds);

            // What the participant heard on the bus (dx market run --json lines).
            Same(n, "price (bus)", report.GetProperty("price").GetDouble(), outcome.Allocation.Price);
            Same(n, "gain (bus)", report.GetProperty("gain").GetDouble(), outcome.Allocation.Gain);
            SameDecimal(n, "charge (bus)", report.GetProperty("revenue").GetDecimal(), outcome.Allocation.Charge);
            SameDecimal(n, "retained (bus)", report.GetProperty("retained").GetDecimal(), outcome.Settlement.Split.Retained);
            var busPayouts = report.GetProperty("payouts").EnumerateArray()
                .ToDictionary(p => p.GetProperty("seller").GetString()!, p => (Share: p.GetProperty("share").GetDouble(), Amount: p.GetProperty("payout").GetDecimal()));
            Assert.Equal(scenario.Sellers.Sellers, busPayouts.Count);

            // What the services recorded.
            Same(n, "price", priced[id].Price, outcome.Allocation.Price);
            Assert.Equal(outcome.Allocation.PriceIndex, priced[id].PriceIndex);
            Same(n, "gain", charged[id].Gain, outcome.Allocation.Gain);
            SameDecimal(n, "charge", charged[id].Charge, outcome.Allocation.Charge);
            Assert.Equal(outcome.Allocation.RevenueCurve.Length, charged[id].RevenueCurve.Length);
            for (var c = 0; c < outcome.Allocation.RevenueCurve.Length; c++)
                Same(n, $"revenue curve[{c}]", charged[id].RevenueCurve[c], outcome.Allocation.RevenueCurve[c]);
            SameDecimal(n, "settled charge", settled[id].Charge, outcome.Settlement.Split.Charge);
            SameDecimal(n, "paid to sellers", settled[id].PaidToSellers, outcome.Settlement.Split.PaidToSellers);
            SameDecimal(n, "retained", settled[id].Retained, outcome.Settlement.Split.Retained);
            SameDecimal(n, "fee", settled[id].Fee, outcome.Settlement.Split.Fee);
            var recorded = paid[id].ToDictionary(p => p.SellerId);
            Assert.Equal(scenario.Sellers.Sellers, recorded.Count);
            foreach (var expectedPayout in outcome.Settlement.Split.Payouts)
            {
                var s = expectedPayout.SellerId;
                Same(n, $"share of {s}", recorded[s].Share, expectedPayout.Share);
                SameDecimal(n, $"payout of {s}", recorded[s].Amount, expectedPayout.Amount);
                Same(n, $"share of {s} (bus)", busPayouts[s].Share, expectedPayout.Share);
                SameDecimal(n, $"payout of {s} (bus)", busPayouts[s].Amount, expectedPayout.Amount);
            }

            // PF*: the n-th update of the market stream is this task's, and the weights after it are the in-process ones.
            var update = updates[n].Data;
            Assert.Equal(id, update.TaskId);
            Assert.Equal(n + 1, update.Updates);
            Assert.Equal(weights.Length, update.Weights.Length);
            for (var c = 0; c < weights.Length; c++) Same(n, $"weight[{c}] after the update", update.Weights[c], weights[c]);
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} differences between the services and the in-process market:\n" +
            string.Join('\n', mismatches.Take(40)));
        output.WriteLine($"charged {summary.Charged}, paid {summary.Paid}, retained {summary.Retained}: equal to the in-process market");
        await Scenarios.AssertNoFaultsAsync(market, ct);
    });
}
