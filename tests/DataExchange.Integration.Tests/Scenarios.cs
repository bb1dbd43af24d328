using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;

namespace DataExchange.Integration.Tests;

/// <summary>Shared inputs and helpers of the tests on the shared market.</summary>
public static class Scenarios
{
    public const ulong Seed = 42;

    /// <summary>The seed report's shape: 20 sellers x 400 steps, 120 buyers (ids seller-00..19 sort in file order).</summary>
    public static readonly Lazy<MarketScenario> Standard = new(() => SyntheticMarket.Generate(20, 400, 120, Seed));

    public static string NewMarketId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, MarketLimits.MaxIdLength)];

    /// <summary>Publishes the scenario's buyers 0..count-1 at once; returns their ids.</summary>
    public static async Task<Guid[]> SubmitAllAsync(MarketFixture market, MarketScenario scenario, int count, string marketId, CancellationToken ct)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, count).Select(n =>
        {
            var b = scenario.Buyers[n];
            return market.Client.SubmitAsync(new SubmitPredictionTask(ids[n], b.Id, b.Valuation, b.Target, 0, null, marketId), ct);
        }));
        return ids;
    }

    /// <summary>Waits until the market stream has applied <paramref name="expected"/> price updates (then a moment more, to catch extras).</summary>
    public static async Task<IReadOnlyList<(StoredEvent Event, MarketPriceUpdated Data)>> WaitForPriceUpdatesAsync(MarketFixture market,
        string marketId, int expected, TimeSpan timeout, CancellationToken ct)
    {
        IReadOnlyList<(StoredEvent, MarketPriceUpdated)> updates = [];
        var reached = await MarketFixture.EventuallyAsync(async () =>
        {
            updates = await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [marketId], ct);
            return updates.Count >= expected;
        }, timeout, ct);
        if (!reached) throw new TimeoutException($"market {marketId}: {updates.Count} of {expected} price updates after {timeout.TotalSeconds:0} s");
        await Task.Delay(1000, ct);
        return await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [marketId], ct);
    }

    public static async Task AssertNoFaultsAsync(MarketFixture market, CancellationToken ct)
    {
        var faulted = await market.FaultedQueuesAsync(ct);
        Xunit.Assert.True(faulted.Count == 0,
            "messages were parked in error queues: " + string.Join(", ", faulted.Select(q => $"{q.Name} ({q.Messages})")));
    }
}
