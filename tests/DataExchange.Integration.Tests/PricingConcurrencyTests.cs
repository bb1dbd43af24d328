using System.Collections.Immutable;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// Two Pricing instances racing on one market stream with a burst of tasks: the updates are numbered 1..N without
/// gaps or repeats, every update is the previous weights folded with that task's revenue curve (in stream order), and
/// each task is quoted and applied once — optimistic concurrency keeps the weights uncorrupted.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class PricingConcurrencyTests(MarketFixture market, ITestOutputHelper output)
{
    [Fact]
    public Task TwoPricers_OneMarketStream_NoGapsNoRepeats_WeightsAreTheFold() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var second = await market.StartInstanceAsync("Pricing", ct);
        try
        {
            // Both instances consume the pricer's queues (counters of the management API lag a few seconds).
            Assert.True(await MarketFixture.EventuallyAsync(async () =>
                (await market.Rabbit.QueuesAsync(market.Vhost, ct)).Where(q => q.Name is "pricing-quote" or "pricing-price-update").All(q => q.Consumers >= 2),
                TimeSpan.FromSeconds(30), ct), "the second pricing instance does not consume pricing-quote and pricing-price-update");

            var marketId = Scenarios.NewMarketId("race");
            var count = scenario.Buyers.Count;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ids = await Scenarios.SubmitAllAsync(market, scenario, count, marketId, ct);
            await market.Client.WaitAllAsync(ids, TimeSpan.FromMinutes(3), null, ct);
            output.WriteLine($"{count} tasks settled in {clock.Elapsed.TotalSeconds:0.0} s with two pricers");
            Assert.DoesNotContain(ids, i => market.Client.Report(i).Rejected is not null);
            await Scenarios.WaitForPriceUpdatesAsync(market, marketId, count, TimeSpan.FromSeconds(60), ct);

            var stream = await market.Events.QueryAsync(EventLog.Pricing, null, [marketId], ct);
            var ordered = stream.OrderBy(e => e.Version).ToList();
            Assert.Equal(Enumerable.Range(1, ordered.Count).Select(v => (long)v), ordered.Select(e => e.Version));
            Assert.Equal("market_opened", ordered[0].Type);
            var opened = ordered[0].Data<MarketOpened>();
            Assert.Single(ordered, e => e.Type == "market_opened");

            // Quotes start each task's own stream (they only read the market); the market stream holds the updates.
            Assert.DoesNotContain(ordered, e => e.Type == "task_priced");
            var quotes = (await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", ids.Select(i => i.ToString()), ct)).Select(e => e.Data).ToList();
            Assert.Equal(count, quotes.Count);
            Assert.Equal(ids.Order(), quotes.Select(q => q.TaskId).Order());

            var updates = ordered.Where(e => e.Type == "market_price_updated").Select(e => e.Data<MarketPriceUpdated>()).ToList();
            Assert.Equal(Enumerable.Range(1, count).Select(n => (long)n), updates.Select(u => u.Updates));
            Assert.Equal(ids.Order(), updates.Select(u => u.TaskId).Order());

            // Recompute PF* from the revenue curves the allocation charged, folded in the stream's order.
            var curves = (await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", ids.Select(i => i.ToString()), ct))
                .ToDictionary(c => c.Data.TaskId, c => c.Data.RevenueCurve);
            var grid = PriceGrid.Create(new MarketParameters
            {
                MinPrice = opened.Grid.MinPrice, MaxPrice = opened.Grid.MaxPrice, Lipschitz = opened.Grid.Lipschitz, ExpectedTasks = opened.Grid.ExpectedTasks,
            });
            Assert.Equal(MarketFixture.ExpectedTasks, opened.Grid.ExpectedTasks);
            var state = PricerState.Initial(grid);
            var wrong = new List<string>();
            foreach (var u in updates)
            {
                state = MultiplicativeWeightsPricer.Update(state, grid, curves[u.TaskId]);
                var same = u.Weights.Length == state.Weights.Length
                    && u.Weights.Zip(state.Weights).All(p => BitConverter.DoubleToInt64Bits(p.First) == BitConverter.DoubleToInt64Bits(p.Second));
                if (!same) wrong.Add($"update {u.Updates} (task {u.TaskId}): recorded weights differ from the fold");
                if (BitConverter.DoubleToInt64Bits(u.MeanPrice) != BitConverter.DoubleToInt64Bits(grid.MeanPrice(state)))
                    wrong.Add($"update {u.Updates}: mean price {u.MeanPrice:R}, fold gives {grid.MeanPrice(state):R}");
            }
            Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(20)));

            // Each quote was drawn from the weights of the stream at the version it names.
            var weightsAt = new Dictionary<long, ImmutableArray<double>> { [0] = PricerState.Initial(grid).Weights };
            foreach (var u in updates) weightsAt[u.Updates] = [.. u.Weights];
            foreach (var q in quotes)
            {
                var expected = MultiplicativeWeightsPricer.Quote(new PricerState(weightsAt[q.MarketVersion], q.MarketVersion), grid, TaskSeeds.FromTaskSeed(q.Seed).Price);
                Assert.True(expected.Index == q.PriceIndex, $"task {q.TaskId}: quoted index {q.PriceIndex} at market version {q.MarketVersion}, the weights then give {expected.Index}");
            }

            // The snapshot the pricers read equals the fold.
            var snapshot = await market.Events.ScalarAsync(
                $"select count(*) from pricing.mt_doc_marketpricing where id = '{marketId}' and (data->>'Updates')::bigint = {count}", ct);
            Assert.Equal(1, snapshot);
            await Scenarios.AssertNoFaultsAsync(market, ct);
        }
        finally
        {
            await market.StopInstanceAsync(second);
        }
    });
}
