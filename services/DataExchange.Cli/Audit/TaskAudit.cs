using DataExchange.Contracts;
using DataExchange.ServiceDefaults.Storage;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;

namespace DataExchange.Cli.Audit;

/// <summary>
/// Recomputes a settled task from what the event log records as its inputs — the sellers' observations over the task's
/// window (ingestion's seller streams, whatever was appended later), the TaskSubmitted (bid, target), the market's seed and terms (TaskPriced, MarketOpened), the price
/// draw from the market's MWU weights at the TaskPriced's market version, and the MechanismTerms recorded with the
/// allocation and the settlement — and compares every outcome with the recorded events. The events are read through Marten as their contract types (AuditEventLog); each
/// stage has its recompute function (PricingAudit, AllocationAudit, PayoutAudit). Doubles are compared
/// bit for bit (the mechanism is deterministic; a zero's sign is not compared, a log written as jsonb numbers lost it), decimals exactly.
/// The recomputation is a chain: the allocation runs at the recomputed price, the settlement splits the recomputed
/// charge, so a tampered field shows up as that field alone.
/// </summary>
public static class TaskAudit
{
    public static async Task<TaskAuditResult> RunAsync(string postgres, Guid taskId, CancellationToken ct = default)
    {
        using var log = new AuditEventLog(postgres);
        var t = await log.TaskAsync(taskId, ct);
        var (submitted, priced) = (t.Submitted, t.Priced);
        var market = await log.StreamAsync(ServiceSchemas.Pricing, submitted.MarketId, ct);
        var opened = market.OfType<MarketOpened>().FirstOrDefault()
            ?? throw new AuditUnavailableException($"market '{submitted.MarketId}' has no MarketOpened in pricing.mt_events");
        var features = await log.FeaturesAsync(submitted.SellerIds, submitted.FromStep, submitted.Target.Length, ct);
        var notes = new List<string>();
        var c = new AuditChecks();

        // A chain: the allocation runs at the recomputed price, the settlement splits the recomputed charge.
        var pricing = PricingAudit.Recompute(opened, market.OfType<MarketPriceUpdated>(), priced);
        var quote = PricingAudit.Compare(t, opened, pricing, c, notes);
        var allocation = AllocationAudit.Recompute(t, features, quote, notes);
        AllocationAudit.Compare(t, allocation, c);
        PricingAudit.CompareUpdate(t, pricing, allocation, c, notes);
        var settlement = PayoutAudit.Recompute(t, features, allocation, notes);
        PayoutAudit.Compare(t, settlement, c, notes);

        var seeds = TaskSeeds.FromTaskSeed(priced.Seed);
        notes.Insert(0, $"market {submitted.MarketId}, buyer {submitted.BuyerId}, bid {AuditChecks.Format(submitted.Bid)}, {submitted.SellerIds.Length} sellers, " +
            $"steps [{submitted.FromStep}, {submitted.FromStep + submitted.Target.Length}), seed {priced.Seed} " +
            $"(price {seeds.Price}, noise {seeds.Noise}, permutations {seeds.Permutations}), market version {priced.MarketVersion}");
        notes.Insert(1, $"terms: allocation {TermsText(t.Allocated.Terms)}; settlement {TermsText(t.Settled.Terms)}");
        return new TaskAuditResult(taskId, c.List, notes);
    }

    /// <summary>The parameters a stage recorded its terms with (an older event without terms: the defaults, said in a note).</summary>
    internal static MarketParameters Parameters(MechanismTerms? terms, string recordedIn, string stage, List<string> notes)
    {
        if (terms is not null) return Terms.Apply(MarketParameters.Default, terms);
        notes.Add($"{recordedIn} records no MechanismTerms (an older event): the {stage} is recomputed with the default terms");
        return MarketParameters.Default;
    }

    private static string Format(double v) => AuditChecks.Format(v);
    private static string Format(decimal v) => AuditChecks.Format(v);

    private static string TermsText(MechanismTerms? t) => t is null ? "(not recorded)" :
        $"sigma {Format(t.NoiseSigma)}, train {Format(t.TrainFraction)}, ridge {Format(t.RidgeAlpha)}, gain {t.Gain}, integral points {t.IntegralPoints}, " +
        $"lambda {Format(t.RobustnessLambda)}, payout rule {t.PayoutRule ?? (t.RenormaliseRobustShares ? "renormalised" : "paper")}" +
        $"{(t.SimilarityThreshold is { } tau ? $" (tau {Format(tau)})" : "")}, K {t.ShapleyPermutations}, exact {t.ExactShapley}, " +
        $"eps {(t.ShapleyEpsilon is { } e ? Format(e) : "-")}, delta {(t.ShapleyDelta is { } d ? Format(d) : "-")}, decimals {t.LedgerDecimals}, fee {Format(t.MarketFeeRate)}, " +
        $"allocation {t.Allocation ?? "noise"}, task {t.TaskKind ?? "regression"}, similarity {t.Similarity ?? "cosine"}";
}
