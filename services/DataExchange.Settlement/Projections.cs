using DataExchange.Contracts;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

/// <summary>One payout to a seller: the task, its PD_B* share, the amount and when it was recorded.</summary>
public sealed record SellerPayout(Guid TaskId, double Share, decimal Amount, DateTimeOffset PaidAt);

/// <summary>A seller's account (payout schema): its balance and every payout it received, in log order.</summary>
public sealed class SellerAccount
{
    public string Id { get; set; } = "";
    public decimal Balance { get; set; }
    public List<SellerPayout> Payouts { get; set; } = new();

    private HashSet<Guid>? _tasks;

    /// <summary>Adds a payout once per task (a replayed SellerPaid changes nothing; a seller is paid once per task).</summary>
    internal void Add(SellerPayout payout)
    {
        _tasks ??= Payouts.Select(p => p.TaskId).ToHashSet();
        if (!_tasks.Add(payout.TaskId)) return;
        Payouts.Add(payout);
        Balance += payout.Amount;
    }
}

/// <summary>SellerPaid events of every task stream, grouped by seller.</summary>
public sealed partial class SellerAccountProjection : MultiStreamProjection<SellerAccount, string>
{
    public SellerAccountProjection()
    {
        Identity<SellerPaid>(e => e.SellerId);
    }

    public SellerAccount Create(IEvent<SellerPaid> e) => Apply(e, new SellerAccount { Id = e.Data.SellerId });

    public SellerAccount Apply(IEvent<SellerPaid> e, SellerAccount account)
    {
        account.Add(new SellerPayout(e.Data.TaskId, e.Data.Share, e.Data.Amount, e.Timestamp));
        return account;
    }
}

/// <summary>A seller's line of a settled task.</summary>
public sealed record TaskPayout(string SellerId, double Share, decimal Amount);

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
    /// <summary>Null until the task's TaskSettled is applied (its payouts come first in the stream).</summary>
    public DateTimeOffset? SettledAt { get; set; }
    public List<TaskPayout> Payouts { get; set; } = new();

    public void Apply(SellerPaid e)
    {
        TaskId = e.TaskId;
        if (Payouts.Exists(p => p.SellerId == e.SellerId)) return;
        Payouts.Add(new TaskPayout(e.SellerId, e.Share, e.Amount));
    }

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
    }
}

/// <summary>What a buyer bought with one task: the gain of its predictions and the charge.</summary>
public sealed class BuyerPurchase
{
    public Guid TaskId { get; set; }
    public string MarketId { get; set; } = "";
    public double Gain { get; set; }
    public int PredictionsDelivered { get; set; }
    public decimal Charge { get; set; }
    public double Price { get; set; }
    public double Bid { get; set; }
    public DateTimeOffset? ChargedAt { get; set; }
}

/// <summary>A buyer's account (allocation schema): charges, gains bought and predictions delivered, per task in log order.</summary>
public sealed class BuyerAccount
{
    public string Id { get; set; } = "";
    public decimal Charged { get; set; }
    public int PredictionsDelivered { get; set; }
    public List<BuyerPurchase> Purchases { get; set; } = new();

    internal BuyerPurchase Purchase(Guid taskId)
    {
        var p = Purchases.Find(x => x.TaskId == taskId);
        if (p is null)
        {
            p = new BuyerPurchase { TaskId = taskId };
            Purchases.Add(p);
        }
        return p;
    }
}

/// <summary>PredictionDelivered and PaymentCharged of every task stream, grouped by buyer.</summary>
public sealed partial class BuyerAccountProjection : MultiStreamProjection<BuyerAccount, string>
{
    public BuyerAccountProjection()
    {
        Identity<PredictionDelivered>(e => e.BuyerId);
        Identity<PaymentCharged>(e => e.BuyerId);
    }

    public BuyerAccount Create(PredictionDelivered e) => Apply(e, new BuyerAccount { Id = e.BuyerId });

    public BuyerAccount Create(IEvent<PaymentCharged> e) => Apply(e, new BuyerAccount { Id = e.Data.BuyerId });

    public BuyerAccount Apply(PredictionDelivered e, BuyerAccount account)
    {
        var p = account.Purchase(e.TaskId);
        p.Gain = e.Gain;
        p.PredictionsDelivered = e.Predictions.Length;
        account.PredictionsDelivered = account.Purchases.Sum(x => x.PredictionsDelivered);
        return account;
    }

    public BuyerAccount Apply(IEvent<PaymentCharged> e, BuyerAccount account)
    {
        var p = account.Purchase(e.Data.TaskId);
        p.MarketId = e.Data.MarketId;
        p.Gain = e.Data.Gain;
        p.Charge = e.Data.Charge;
        p.Price = e.Data.Price;
        p.Bid = e.Data.Bid;
        p.ChargedAt = e.Timestamp;
        account.Charged = account.Purchases.Sum(x => x.Charge);
        return account;
    }
}

/// <summary>The price the market quoted for a task (Alg. 1), drawn at market version MarketVersion.</summary>
public sealed record PriceQuoteEntry(Guid TaskId, string BuyerId, double Price, int PriceIndex, double Bid, long MarketVersion, DateTimeOffset QuotedAt);

/// <summary>PF* after a task: the weights, the mean price, and the task's revenue (charge) and quoted price.</summary>
public sealed record PriceUpdateEntry(Guid TaskId, long Updates, double MeanPrice, decimal? Charge, double? Price, double[] Weights, DateTimeOffset UpdatedAt);

/// <summary>A market's history (pricing schema): its grid, every quote and every weights update, in log order.</summary>
public sealed class MarketHistory
{
    public string Id { get; set; } = "";
    public double[] Prices { get; set; } = [];
    public DateTimeOffset? OpenedAt { get; set; }
    public decimal Revenue { get; set; }
    public List<PriceQuoteEntry> Quotes { get; set; } = new();
    public List<PriceUpdateEntry> Updates { get; set; } = new();

    private HashSet<Guid>? _quoted, _updated;

    /// <summary>Each task is quoted once and applied once (a replayed event changes nothing).</summary>
    internal void Add(PriceQuoteEntry quote)
    {
        _quoted ??= Quotes.Select(q => q.TaskId).ToHashSet();
        if (_quoted.Add(quote.TaskId)) Quotes.Add(quote);
    }

    internal void Add(PriceUpdateEntry update)
    {
        _updated ??= Updates.Select(u => u.TaskId).ToHashSet();
        if (!_updated.Add(update.TaskId)) return;
        Updates.Add(update);
        Revenue += update.Charge ?? 0m;
    }
}

/// <summary>MarketOpened and MarketPriceUpdated (the market's stream) and TaskPriced (each task's stream), grouped by market.</summary>
public sealed partial class MarketHistoryProjection : MultiStreamProjection<MarketHistory, string>
{
    public MarketHistoryProjection()
    {
        Identity<MarketOpened>(e => e.MarketId);
        Identity<TaskPriced>(e => e.MarketId);
        Identity<MarketPriceUpdated>(e => e.MarketId);
    }

    public MarketHistory Create(MarketOpened e) => Apply(e, new MarketHistory { Id = e.MarketId });

    public MarketHistory Create(IEvent<TaskPriced> e) => Apply(e, new MarketHistory { Id = e.Data.MarketId });

    public MarketHistory Create(IEvent<MarketPriceUpdated> e) => Apply(e, new MarketHistory { Id = e.Data.MarketId });

    public MarketHistory Apply(MarketOpened e, MarketHistory h)
    {
        h.Prices = e.Prices;
        h.OpenedAt = e.OpenedAt;
        return h;
    }

    public MarketHistory Apply(IEvent<TaskPriced> e, MarketHistory h)
    {
        var t = e.Data;
        h.Add(new PriceQuoteEntry(t.TaskId, t.BuyerId, t.Price, t.PriceIndex, t.Bid, t.MarketVersion, e.Timestamp));
        return h;
    }

    public MarketHistory Apply(IEvent<MarketPriceUpdated> e, MarketHistory h)
    {
        var u = e.Data;
        h.Add(new PriceUpdateEntry(u.TaskId, u.Updates, u.MeanPrice, u.Charge, u.Price, u.Weights, e.Timestamp));
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
    /// instead of one per page: a seller's account, whose payout list grows with the log, is written once, not once a page.
    /// </summary>
    private static void Tune(AsyncOptions o)
    {
        o.BatchSize = 10_000;
        o.CacheLimitPerTenant = 1_000;
        o.RebuildFlushThreshold = RebuildFlushThreshold;
    }

    /// <summary>SellerAccount and TaskSettlement over the payout service's log.</summary>
    public static void Payout(StoreOptions opts)
    {
        opts.Projections.Add(new SellerAccountProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);
        opts.Projections.Snapshot<TaskSettlement>(SnapshotLifecycle.Async, Tune);
        opts.Schema.For<TaskSettlement>().Index(t => t.SettledAt);
    }

    /// <summary>BuyerAccount over the allocation service's log.</summary>
    public static void Allocation(StoreOptions opts) =>
        opts.Projections.Add(new BuyerAccountProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);

    /// <summary>MarketHistory over the pricing service's log.</summary>
    public static void Pricing(StoreOptions opts) =>
        opts.Projections.Add(new MarketHistoryProjection(), ProjectionLifecycle.Async, asyncConfiguration: Tune);

    /// <summary>The registrations of one schema.</summary>
    public static Action<StoreOptions> For(string schema) => schema switch
    {
        PayoutSchema => Payout,
        AllocationSchema => Allocation,
        PricingSchema => Pricing,
        _ => throw new ArgumentException($"no settlement projections live in schema '{schema}'", nameof(schema)),
    };
}
