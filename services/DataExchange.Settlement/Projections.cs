using DataExchange.Contracts;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

// Every projection here does a constant amount of work per event: totals live in small aggregate documents, and
// anything that grows with the log (a buyer's purchases, a market's price history, the payouts of a task) is one
// document per task. A document holding a list that grows with the log would be read and rewritten whole on every daemon page,
// which costs more the longer the market trades.

/// <summary>A seller's account (payout schema): its balance and how many payouts make it up (each payout: TaskSettlement.Payouts).</summary>
public sealed class SellerAccount
{
    public string Id { get; set; } = "";
    public decimal Balance { get; set; }
    public int Payouts { get; set; }
    public DateTimeOffset? LastPaidAt { get; set; }
}

/// <summary>
/// Each TaskSettled's payout lines, grouped by seller. The statement in TaskSettled carries the same lines as the task's
/// SellerPaid events, so the daemon reads one event per task instead of one per seller and task.
/// </summary>
public sealed class SellerAccountProjection : MultiStreamProjection<SellerAccount, string>
{
    public SellerAccountProjection()
    {
        Identities<TaskSettled>(e => e.Payouts is { } lines ? lines.Select(l => l.SellerId).ToArray() : []);
        // Evolve hides which events matter: without this the daemon would read every event of the log.
        IncludeType<TaskSettled>();
    }

    // The daemon applies each event once: it commits its progress with the documents. A seller appears once per
    // statement (one line per seller of the allocation).
    public override SellerAccount? Evolve(SellerAccount? snapshot, string id, IEvent e)
    {
        if (e.Data is not TaskSettled { Payouts: { } lines }) return snapshot;
        var account = snapshot ?? new SellerAccount { Id = id };
        foreach (var line in lines)
        {
            if (line.SellerId != id) continue;
            account.Balance += line.Amount;
            account.Payouts++;
            account.LastPaidAt = e.Timestamp;
        }
        return account;
    }
}

/// <summary>
/// A task's settlement (payout schema; one per task stream): the charge and how it was split, with every payout.
/// Charge == PaidToSellers + Retained + Fee, exactly.
/// </summary>
public sealed class TaskSettlement
{
    public string Id { get; set; } = "";
    public Guid TaskId { get; set; }
    public string MarketId { get; set; } = "";
    public string BuyerId { get; set; } = "";
    public decimal Charge { get; set; }
    public decimal PaidToSellers { get; set; }
    public decimal Retained { get; set; }
    public decimal Fee { get; set; }
    public DateTimeOffset SubmittedAt { get; set; }
    public DateTimeOffset? SettledAt { get; set; }
    public SellerShare[] Payouts { get; set; } = [];

    public void Apply(TaskSettled e)
    {
        TaskId = e.TaskId;
        MarketId = e.MarketId;
        BuyerId = e.BuyerId;
        Charge = e.Charge;
        PaidToSellers = e.PaidToSellers;
        Retained = e.Retained;
        Fee = e.Fee;
        SubmittedAt = e.SubmittedAt;
        SettledAt = e.SettledAt;
        Payouts = e.Payouts ?? [];
    }
}

/// <summary>
/// What a buyer bought with one task (allocation schema; one per task stream): the gain of its predictions, how many,
/// and the charge. A buyer's account is the sum of its purchases (query by BuyerId).
/// </summary>
public sealed class BuyerPurchase
{
    public string Id { get; set; } = "";
    public Guid TaskId { get; set; }
    public string BuyerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Gain { get; set; }
    public int PredictionsDelivered { get; set; }
    public decimal Charge { get; set; }
    public double Price { get; set; }
    public double Bid { get; set; }
    /// <summary>Null until the task's PaymentCharged is applied.</summary>
    public DateTimeOffset? ChargedAt { get; set; }
}

/// <summary>PredictionDelivered and PaymentCharged of a task's stream in the allocation service's log.</summary>
public sealed partial class BuyerPurchaseProjection : SingleStreamProjection<BuyerPurchase, string>
{
    public BuyerPurchase Create(PredictionDelivered e) => Apply(e, new BuyerPurchase());

    public BuyerPurchase Create(IEvent<PaymentCharged> e) => Apply(e, new BuyerPurchase());

    public BuyerPurchase Apply(PredictionDelivered e, BuyerPurchase p)
    {
        p.TaskId = e.TaskId;
        p.BuyerId = e.BuyerId;
        p.Gain = e.Gain;
        p.PredictionsDelivered = e.Predictions.Length;
        return p;
    }

    public BuyerPurchase Apply(IEvent<PaymentCharged> e, BuyerPurchase p)
    {
        var c = e.Data;
        p.TaskId = c.TaskId;
        p.BuyerId = c.BuyerId;
        p.MarketId = c.MarketId;
        p.Gain = c.Gain;
        p.Charge = c.Charge;
        p.Price = c.Price;
        p.Bid = c.Bid;
        p.ChargedAt = e.Timestamp;
        return p;
    }
}

/// <summary>
/// PF* after one task (pricing schema; one per MarketPriceUpdated, id = the task's id): the weights and mean price after
/// the update, the task's quoted price and its revenue (its charge).
/// </summary>
public sealed class PriceUpdate
{
    public string Id { get; set; } = "";
    public string MarketId { get; set; } = "";
    public Guid TaskId { get; set; }
    public long Updates { get; set; }
    public double MeanPrice { get; set; }
    public decimal? Charge { get; set; }
    public double? Price { get; set; }
    public double[] Weights { get; set; } = [];
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Each MarketPriceUpdated as a PriceUpdate document (stored by id, so projecting an event again changes nothing).</summary>
public sealed partial class PriceUpdateProjection : EventProjection
{
    public PriceUpdateProjection()
    {
        Name = nameof(PriceUpdate);
    }

    public void Project(IEvent<MarketPriceUpdated> e, IDocumentOperations ops) => ops.Store(new PriceUpdate
    {
        Id = e.Data.TaskId.ToString(),
        MarketId = e.Data.MarketId,
        TaskId = e.Data.TaskId,
        Updates = e.Data.Updates,
        MeanPrice = e.Data.MeanPrice,
        Charge = e.Data.Charge,
        Price = e.Data.Price,
        Weights = e.Data.Weights,
        UpdatedAt = e.Timestamp,
    });
}

/// <summary>
/// A market (pricing schema): its price grid, the number of updates PF* has made, the weights and mean price after the
/// latest, and the revenue so far. Its history, update by update: PriceUpdate.
/// </summary>
public sealed class MarketHistory
{
    public string Id { get; set; } = "";
    public double[] Prices { get; set; } = [];
    public DateTimeOffset? OpenedAt { get; set; }
    public decimal Revenue { get; set; }
    public long Updates { get; set; }
    public double MeanPrice { get; set; }
    public double[] Weights { get; set; } = [];
    public DateTimeOffset? LastUpdatedAt { get; set; }
}

/// <summary>MarketOpened and MarketPriceUpdated (the market's stream), grouped by market.</summary>
public sealed partial class MarketHistoryProjection : MultiStreamProjection<MarketHistory, string>
{
    public MarketHistoryProjection()
    {
        Identity<MarketOpened>(e => e.MarketId);
        Identity<MarketPriceUpdated>(e => e.MarketId);
    }

    public MarketHistory Create(MarketOpened e) => Apply(e, new MarketHistory { Id = e.MarketId });

    public MarketHistory Create(IEvent<MarketPriceUpdated> e) => Apply(e, new MarketHistory { Id = e.Data.MarketId });

    public MarketHistory Apply(MarketOpened e, MarketHistory h)
    {
        h.Prices = e.Prices;
        h.OpenedAt = e.OpenedAt;
        return h;
    }

    // The market's stream is written by one writer at a time, in order: the last update applied is the latest.
    public MarketHistory Apply(IEvent<MarketPriceUpdated> e, MarketHistory h)
    {
        var u = e.Data;
        h.Updates = u.Updates;
        h.MeanPrice = u.MeanPrice;
        h.Weights = u.Weights;
        h.Revenue += u.Charge ?? 0m;
        h.LastUpdatedAt = e.Timestamp;
        return h;
    }
}

/// <summary>
/// Which projections live in which service's store (each next to its events), all asynchronous so the trading path
/// never waits for them. The services call these from their configureStore; the CLI opens the same registrations.
/// </summary>
public static class SettlementProjections
{
    public const string PayoutSchema = "payout", AllocationSchema = "allocation", PricingSchema = "pricing";

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
