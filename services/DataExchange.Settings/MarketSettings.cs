using DataExchange.Contracts;
using DataExchange.Mechanism;
using Microsoft.Extensions.Configuration;

namespace DataExchange.Settings;

/// <summary>
/// The mechanism's parameters a service trades with when a task carries no recorded terms, and that a market first named by
/// a task opens with (configuration section "Market"; defaults are the paper's, <see cref="MarketParameters.Default"/>).
/// </summary>
public sealed record MarketSettings(MarketParameters Parameters)
{
    /// <summary>Reads section "Market"; a bad value is refused with its key (e.g. "Market:Allocation") and the reason.</summary>
    public static MarketSettings From(IConfiguration configuration)
    {
        var market = configuration.GetSection("Market");
        var defaults = MarketParameters.Default;
        var parameters = new MarketParameters
        {
            ExpectedTasks = market.GetValue("ExpectedTasks", defaults.ExpectedTasks),
            ShapleyPermutations = market.GetValue("ShapleyPermutations", defaults.ShapleyPermutations),
            RobustnessLambda = market.GetValue("RobustnessLambda", defaults.RobustnessLambda),
            RidgeAlpha = market.GetValue("RidgeAlpha", defaults.RidgeAlpha),
            IntegralPoints = market.GetValue("IntegralPoints", defaults.IntegralPoints),
            MarketFeeRate = market.GetValue("FeeRate", defaults.MarketFeeRate),
            ExactShapley = market.GetValue("ExactShapley", defaults.ExactShapley),
            PayoutRule = market.GetValue<string?>("PayoutRule") is { } rule ? PayoutRules.Parse(rule) : defaults.PayoutRule,
            SimilarityThreshold = market.GetValue("SimilarityThreshold", defaults.SimilarityThreshold),
            Allocation = market.GetValue<string?>("Allocation") is { } allocation ? SettingNames.Parse<AllocationKind>(allocation, "Market:Allocation") : defaults.Allocation,
            TaskKind = market.GetValue<string?>("TaskKind") is { } kind ? SettingNames.Parse<TaskKind>(kind, "Market:TaskKind") : defaults.TaskKind,
            Similarity = market.GetValue<string?>("Similarity") is { } similarity ? SettingNames.Parse<SimilarityKind>(similarity, "Market:Similarity") : defaults.Similarity,
            // Threads one task of 128 sellers or more may use; results are the same at any count. A service running several
            // large tasks at once (up to its prefetch) may set 1 so that each task keeps to one thread.
            Parallelism = market.GetValue("Parallelism", defaults.Parallelism),
            ShapleyTarget = market.GetValue<double?>("ShapleyEpsilon") is { } eps
                ? new ShapleyAccuracy(eps, market.GetValue("ShapleyDelta", 0.1)) : null,
        }.Validate();
        return new MarketSettings(parameters);
    }

    /// <summary>The price grid terms every service derives the same grid from.</summary>
    public PriceGridTerms GridTerms => new(Parameters.MinPrice, Parameters.MaxPrice, Parameters.Lipschitz, Parameters.ExpectedTasks);
}
