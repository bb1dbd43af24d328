using DataExchange.Contracts;
using DataExchange.Mechanism;

namespace DataExchange.Settings;

/// <summary>Between the mechanism's parameters and the terms recorded in events.</summary>
public static class Terms
{
    /// <summary>
    /// The paper's and the renormalised rule travel in the flag alone, as before the rule existed, so a market's terms
    /// recorded then still equal the same terms recorded now; the other rules by name.
    /// </summary>
    public static MechanismTerms Record(MarketParameters p) => new(
        p.NoiseSigma, p.TrainFraction, p.RidgeAlpha, p.Gain.ToString(), p.IntegralPoints, p.RobustnessLambda, p.PayoutRule == PayoutRule.Renormalised,
        p.ShapleyPermutations, p.ExactShapley, p.ShapleyTarget?.Epsilon, p.ShapleyTarget?.Delta, p.LedgerDecimals, p.MarketFeeRate,
        p.PayoutRule is PayoutRule.Paper or PayoutRule.Renormalised ? null : PayoutRules.Name(p.PayoutRule),
        p.PayoutRule == PayoutRule.Thresholded ? p.SimilarityThreshold : null,
        p.ShapleyRelativeError, p.ShapleyAntithetic, p.ShapleyStratified,
        p.Allocation == AllocationKind.Noise ? null : SettingNames.Name(p.Allocation),
        p.TaskKind == TaskKind.Regression ? null : SettingNames.Name(p.TaskKind),
        p.Similarity == SimilarityKind.Cosine ? null : SettingNames.Name(p.Similarity));

    /// <summary>The parameters a recorded task ran with (the price grid comes from its TaskPriced).</summary>
    public static MarketParameters Apply(MarketParameters p, MechanismTerms t) => p with
    {
        NoiseSigma = t.NoiseSigma,
        TrainFraction = t.TrainFraction,
        RidgeAlpha = t.RidgeAlpha,
        Gain = Enum.TryParse<GainKind>(t.Gain, ignoreCase: false, out var gain) && Enum.IsDefined(gain) ? gain
            : throw new ArgumentOutOfRangeException(nameof(MarketParameters.Gain), t.Gain, $"must be one of {string.Join(", ", Enum.GetNames<GainKind>())}"),
        IntegralPoints = t.IntegralPoints,
        RobustnessLambda = t.RobustnessLambda,
        // Events recorded before the rule travelled carry only the flag: renormalised when set, else the paper's PD_B*.
        PayoutRule = t.PayoutRule is null ? t.RenormaliseRobustShares ? PayoutRule.Renormalised : PayoutRule.Paper
            : PayoutRules.TryParse(t.PayoutRule, out var rule) ? rule
            : throw new ArgumentOutOfRangeException(nameof(MarketParameters.PayoutRule), t.PayoutRule, $"must be one of {string.Join(", ", PayoutRules.Names)}"),
        SimilarityThreshold = t.SimilarityThreshold ?? MarketParameters.Default.SimilarityThreshold,
        ShapleyPermutations = t.ShapleyPermutations,
        ExactShapley = t.ExactShapley,
        ShapleyTarget = t.ShapleyEpsilon is { } e && t.ShapleyDelta is { } d ? new ShapleyAccuracy(e, d) : null,
        LedgerDecimals = t.LedgerDecimals,
        MarketFeeRate = t.MarketFeeRate,
        ShapleyRelativeError = t.ShapleyRelativeError,
        ShapleyAntithetic = t.ShapleyAntithetic,
        ShapleyStratified = t.ShapleyStratified,
        // Null: the default, as recorded before these settings existed.
        Allocation = t.Allocation is null ? AllocationKind.Noise : SettingNames.Parse<AllocationKind>(t.Allocation, nameof(MarketParameters.Allocation)),
        TaskKind = t.TaskKind is null ? TaskKind.Regression : SettingNames.Parse<TaskKind>(t.TaskKind, nameof(MarketParameters.TaskKind)),
        Similarity = t.Similarity is null ? SimilarityKind.Cosine : SettingNames.Parse<SimilarityKind>(t.Similarity, nameof(MarketParameters.Similarity)),
    };

    /// <summary>
    /// The parameters of a task of a market whose recorded terms travel with it. A task priced before markets recorded
    /// terms carries none and keeps being settled under this service's configuration, as it was charged.
    /// </summary>
    public static MarketParameters OfMarket(MechanismTerms? terms, MarketSettings settings) =>
        // The recorded terms decide every number; how many threads compute them is this service's own setting.
        terms is null ? settings.Parameters : Apply(MarketParameters.Default with { Parallelism = settings.Parameters.Parallelism }, terms).Validate();

    public static MarketParameters Apply(MarketParameters p, PriceGridTerms g) => p with
    {
        MinPrice = g.MinPrice, MaxPrice = g.MaxPrice, Lipschitz = g.Lipschitz, ExpectedTasks = g.ExpectedTasks,
    };
}
