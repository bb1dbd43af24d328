using DataExchange.Settings;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Audit;

/// <summary>
/// The allocation stage: AF*, the model and G, RF* (Eq. 3) and the revenue curve, recomputed at the recomputed price with
/// the terms the allocation recorded (and the market's grid), as the allocation service computes them.
/// </summary>
internal static class AllocationAudit
{
    public static AllocationOutcome Recompute(RecordedTask t, FeatureSet features, PriceQuote quote, List<string> notes)
    {
        var parameters = Terms.Apply(TaskAudit.Parameters(t.Allocated.Terms, "FeaturesAllocated", "allocation", notes), t.Priced.Grid);
        return MarketTask.Allocate(features, t.Submitted.Target, t.Submitted.Bid, quote, TaskSeeds.FromTaskSeed(t.Priced.Seed).Noise,
            PriceGrid.Create(parameters), parameters);
    }

    public static void Compare(RecordedTask t, AllocationOutcome a, AuditChecks c)
    {
        var (submitted, allocated, delivered, charged) = (t.Submitted, t.Allocated, t.Delivered, t.Charged);
        c.Same("FeaturesAllocated.SellerIds", AuditChecks.Ids(allocated.SellerIds), AuditChecks.Ids(submitted.SellerIds));
        c.Same("FeaturesAllocated.FromStep", allocated.FromStep, submitted.FromStep);
        c.Same("FeaturesAllocated.Steps", allocated.Steps, submitted.Target.Length);
        c.Double("FeaturesAllocated.NoiseScale", allocated.NoiseScale, a.NoiseScale);
        c.Same("FeaturesAllocated.NoiseSeed", allocated.NoiseSeed, TaskSeeds.FromTaskSeed(t.Priced.Seed).Noise);

        c.Same("PredictionDelivered.BuyerId", delivered.BuyerId, submitted.BuyerId);
        c.Double("PredictionDelivered.Gain", delivered.Gain, a.Gain);
        c.Same("PredictionDelivered.PredictionFromStep", delivered.PredictionFromStep, submitted.FromStep + a.PredictionStart);
        c.Doubles("PredictionDelivered.Predictions", delivered.Predictions, a.Predictions);

        c.Decimal("PaymentCharged.Charge", charged.Charge, a.Charge);
        c.Double("PaymentCharged.Price", charged.Price, a.Price);
        c.Double("PaymentCharged.Gain", charged.Gain, a.Gain);
        c.Doubles("PaymentCharged.RevenueCurve", charged.RevenueCurve, a.RevenueCurve);
        c.CopiedTask("PaymentCharged", submitted, charged.MarketId, charged.BuyerId, charged.Bid, charged.Target, charged.FromStep, charged.SellerIds, charged.SubmittedAt);
        c.Same("PaymentCharged.Seed", charged.Seed, t.Priced.Seed);
    }
}
