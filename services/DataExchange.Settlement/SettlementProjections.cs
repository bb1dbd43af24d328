using DataExchange.ServiceDefaults.Storage;
using JasperFx.Events.Projections;
using Marten;

namespace DataExchange.Settlement;

/// <summary>
/// Which projections live in which service's store (each next to its events), all asynchronous so the trading path
/// never waits for them. The services call these from their configureStore; the CLI opens the same registrations.
/// </summary>
/// <remarks>
/// Every projection here does a constant amount of work per event: totals live in small aggregate documents, and
/// anything that grows with the log (a buyer's purchases, a market's price history, the payouts of a task) is one
/// document per task. A document holding a list that grows with the log would be read and rewritten whole on every daemon page,
/// which costs more the longer the market trades.
/// </remarks>
public static class SettlementProjections
{
    public const string PayoutSchema = ServiceSchemas.Payout, AllocationSchema = ServiceSchemas.Allocation, PricingSchema = ServiceSchemas.Pricing;

    /// <summary>The schemas that hold settlement projections, in the order a rebuild visits them.</summary>
    public static readonly IReadOnlyList<string> Schemas = [PayoutSchema, AllocationSchema, PricingSchema];

    /// <summary>Rebuilds hold the latest state of up to this many aggregates in memory and write each once per window.</summary>
    public const int RebuildFlushThreshold = 10_000;

    /// <summary>
    /// Large pages (one read of the log per 10,000 events), aggregates kept in memory between pages (an account is not
    /// re-read from the database for every page), and during a rebuild one write per aggregate per 10,000 dirty aggregates
    /// instead of one per page: a seller's account is written once per window, not once per page.
    /// </summary>
    private static void Tune(AsyncOptions o)
    {
        o.BatchSize = 10_000;
        o.CacheLimitPerTenant = 1_000;
        o.RebuildFlushThreshold = RebuildFlushThreshold;
    }

    /// <summary>SellerAccount, TaskSettlement and PayoutLine (a seller's catch-up) over the payout service's log.</summary>
    public static void Payout(StoreOptions opts)
    {
        opts.Projections.Add(new SellerAccountProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Projections.Snapshot<TaskSettlement>(SnapshotLifecycle.Async, Tune);
        opts.Schema.For<TaskSettlement>().Index(t => t.SettledAt);
        opts.Projections.Add(new PayoutLineProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        // A page of one seller's lines after a cursor is a range scan of this index, however long the log.
        opts.Schema.For<PayoutLine>().Index(l => new { l.SellerId, l.Cursor });
    }

    /// <summary>BuyerPurchase and BuyerResult (a buyer's catch-up) over the allocation service's log.</summary>
    public static void Allocation(StoreOptions opts)
    {
        opts.Projections.Add(new BuyerPurchaseProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Schema.For<BuyerPurchase>().Index(p => p.BuyerId);
        opts.Projections.Add(new BuyerResultProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Schema.For<BuyerResult>().Index(r => new { r.BuyerId, r.Cursor });
    }

    /// <summary>MarketHistory and PriceUpdate over the pricing service's log.</summary>
    public static void Pricing(StoreOptions opts)
    {
        opts.Projections.Add(new MarketHistoryProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Projections.Add(new PriceUpdateProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Schema.For<PriceUpdate>().Index(u => u.MarketId);
    }

    /// <summary>The registrations of one schema.</summary>
    public static Action<StoreOptions> For(string schema) => schema switch
    {
        PayoutSchema => Payout,
        AllocationSchema => Allocation,
        PricingSchema => Pricing,
        _ => throw new ArgumentException($"no settlement projections live in schema '{schema}'", nameof(schema)),
    };
}
