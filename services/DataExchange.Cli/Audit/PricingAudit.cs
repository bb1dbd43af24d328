using DataExchange.Settings;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.Pricing;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Audit;

/// <summary>
/// The pricing stage: the price the market drew for the task (PF*'s quote, Alg. 1) and the price update the task caused.
/// The market is folded as the pricing service folds it (its <see cref="MarketPricing"/> aggregate: MarketOpened, then
/// each MarketPriceUpdated), up to the version the task was quoted at.
/// </summary>
internal static class PricingAudit
{
    /// <param name="Quote">The draw at the recorded version with the task's price seed (null when the market never had that version).</param>
    /// <param name="BeforeOwnUpdate">The market just before this task's own update (null when it has not been applied yet).</param>
    public sealed record Recomputed(PriceGrid Grid, PriceQuote? Quote, PricerState? BeforeOwnUpdate, MarketPriceUpdated? OwnUpdate);

    public static Recomputed Recompute(MarketOpened opened, IEnumerable<MarketPriceUpdated> updates, TaskPriced priced)
    {
        var grid = PriceGrid.Create(Terms.Apply(MarketParameters.Default, opened.Grid));
        var market = MarketPricing.Create(opened);
        var atVersion = market.Updates == priced.MarketVersion ? market.State() : null;
        PricerState? before = null;
        MarketPriceUpdated? own = null;
        foreach (var u in updates)
        {
            if (u.TaskId == priced.TaskId && own is null) (own, before) = (u, market.State());
            market.Apply(u);
            if (market.Updates == priced.MarketVersion) atVersion ??= market.State();
        }
        var quote = atVersion is null ? (PriceQuote?)null : MultiplicativeWeightsPricer.Quote(atVersion, grid, TaskSeeds.FromTaskSeed(priced.Seed).Price);
        return new Recomputed(grid, quote, before, own);
    }

    /// <summary>Compares the quote and what every stage copied from the task; returns the quote the allocation is recomputed at.</summary>
    public static PriceQuote Compare(RecordedTask t, MarketOpened opened, Recomputed r, AuditChecks c, List<string> notes)
    {
        var (submitted, priced) = (t.Submitted, t.Priced);
        // What the task was accepted with, as every later stage copied it.
        c.CopiedTask("TaskPriced", submitted, priced.MarketId, priced.BuyerId, priced.Bid, priced.Target, priced.FromStep, priced.SellerIds, priced.SubmittedAt);
        c.Same("TaskPriced.Grid", opened.Grid, priced.Grid);
        if (opened.Terms is { } marketTerms)
        {
            // Every service used the terms the market opened with, whatever its own configuration said.
            c.Same("TaskPriced.Terms", marketTerms, priced.Terms);
            c.Same("FeaturesAllocated.Terms", marketTerms, t.Allocated.Terms);
            c.Same("PaymentCharged.Terms", marketTerms, t.Charged.Terms);
            c.Same("TaskSettled.Terms", marketTerms, t.Settled.Terms);
        }
        else notes.Add($"market '{submitted.MarketId}' opened before markets recorded their terms: each stage is recomputed with the terms it recorded");
        c.Doubles("MarketOpened.Prices", opened.Prices, r.Grid.Prices.ToArray());
        if (r.Quote is not { } quote)
        {
            c.Same("TaskPriced.MarketVersion", priced.MarketVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"(no state of market '{submitted.MarketId}' with {priced.MarketVersion} updates)");
            notes.Add("the price draw could not be recomputed: the allocation below runs at the recorded price");
            return new PriceQuote(priced.PriceIndex, priced.Price);
        }
        c.Same("TaskPriced.PriceIndex", priced.PriceIndex, quote.Index);
        c.Double("TaskPriced.Price", priced.Price, quote.Price);
        return quote;
    }

    /// <summary>PF*'s update for this task (Alg. 1): from the weights before it and the recomputed revenue curve.</summary>
    public static void CompareUpdate(RecordedTask t, Recomputed r, AllocationOutcome a, AuditChecks c, List<string> notes)
    {
        if (r.OwnUpdate is not { } own || r.BeforeOwnUpdate is not { } before)
        {
            notes.Add($"market '{t.Submitted.MarketId}' has not applied this task's price update yet: not compared");
            return;
        }
        var next = MultiplicativeWeightsPricer.Update(before, r.Grid, a.RevenueCurve);
        c.Same("MarketPriceUpdated.Updates", own.Updates, next.Updates);
        c.Doubles("MarketPriceUpdated.Weights", own.Weights, next.Weights.ToArray());
        c.Double("MarketPriceUpdated.MeanPrice", own.MeanPrice, r.Grid.MeanPrice(next));
        if (own.Charge is { } charge) c.Decimal("MarketPriceUpdated.Charge", charge, a.Charge);
        if (own.Price is { } price) c.Double("MarketPriceUpdated.Price", price, a.Price);
    }
}
