namespace DataExchange.Mechanism;

/// <summary>
/// Every number of the mechanism, with the paper's defaults (arXiv 1805.08125, EC'19).
/// Immutable: a market runs with one set and records it.
/// </summary>
public sealed record MarketParameters
{
    /// <summary>sigma in AF* (Ex. 4.1): noise standard deviation per unit of (price - bid).</summary>
    public double NoiseSigma { get; init; } = 1.0;

    /// <summary>Share of the series (from its start, time order kept) the model is trained on; the rest scores it.</summary>
    public double TrainFraction { get; init; } = 0.7;

    /// <summary>Ridge penalty on standardised features (reference: 1). 0 gives OLS.</summary>
    public double RidgeAlpha { get; init; } = 1.0;

    public GainKind Gain { get; init; } = GainKind.NormalisedRmse;

    /// <summary>AF*: additive noise (Ex. 4.1, the default) or sampling (Ex. 4.2). NoiseSigma applies to noise only.</summary>
    public AllocationKind Allocation { get; init; } = AllocationKind.Noise;

    /// <summary>Regression (the default; G by <see cref="Gain"/>) or classification (Remark 2.2; G from accuracy, <see cref="Gain"/> unused).</summary>
    public TaskKind TaskKind { get; init; } = TaskKind.Regression;

    /// <summary>SM of PD_B*: |cos| (Ex. 4.3, the default) or 1 - Hellinger distance (Ex. 4.4). Used by the paper, renormalised and thresholded rules.</summary>
    public SimilarityKind Similarity { get; init; } = SimilarityKind.Cosine;

    /// <summary>Gain evaluations per RF* (Eq. 3): the allocation at price p is ironed on this many step bids p k / K, k = 0..K.</summary>
    public int IntegralPoints { get; init; } = 15;

    /// <summary>Lower end of the price grid (b_min).</summary>
    public double MinPrice { get; init; } = 0.0;

    /// <summary>Upper end of the price grid (b_max); also the scale that maps revenue into [0, 1] for PF*.</summary>
    public double MaxPrice { get; init; } = 2.0;

    /// <summary>L, the Lipschitz constant of the revenue in the price; grid step eps = 1 / (L sqrt(N)) (Thm 5.2).</summary>
    public double Lipschitz { get; init; } = 1.0;

    /// <summary>N, the number of tasks the pricer is tuned for (sets eps and delta of Alg. 1).</summary>
    public int ExpectedTasks { get; init; } = 120;

    /// <summary>lambda of PD_B* (Alg. 3): penalty per unit of summed similarity. ln 2 by default.</summary>
    public double RobustnessLambda { get; init; } = Math.Log(2.0);

    /// <summary>How a task's charge is split among the sellers (see <see cref="Mechanism.PayoutRule"/>). The paper's PD_B* by default.</summary>
    public PayoutRule PayoutRule { get; init; } = PayoutRule.Paper;

    /// <summary>
    /// tau of the thresholded rule: SM'(a, b) = max(0, (|cos(a, b)| - tau) / (1 - tau)). An exact copy still scores 1,
    /// sellers less alike than tau score 0. 0.9 by default, measured (README, "Choosing tau"): the largest tau on a
    /// 0.025 grid under which copies carrying noise of up to 0.3 of the series' s.d. (|cos| 0.958, SM' 0.58) still do
    /// not pay on the whole (0.925 lets them earn x1.1 to x1.4); on the seed scenario it pays out 98.7 % of the charge
    /// (0.875: 95.1 %, 0.85: 91.8 %). A copy with noise above 0.48 s.d. (|cos| below 0.9) is no longer seen as one.
    /// </summary>
    public double SimilarityThreshold { get; init; } = 0.9;

    /// <summary>K, the number of random permutations of PD_A* (Alg. 2) when no target accuracy is set.</summary>
    public int ShapleyPermutations { get; init; } = 200;

    /// <summary>When set, PD_A* samples permutations until this accuracy is reached (at most Shapley.UntilAccurateCap: Thm 5.3's K, more for small M).</summary>
    public ShapleyAccuracy? ShapleyTarget { get; init; }

    /// <summary>
    /// When set to r, PD_A* samples until every seller's estimated standard error is at most r / M of the task's total
    /// gain (r of the average share, at any M; Shapley.UntilRelative). Takes the place of K; not with ShapleyTarget.
    /// </summary>
    public double? ShapleyRelativeError { get; init; }

    /// <summary>
    /// Draw PD_A*'s permutations in antithetic pairs (a permutation and its reverse): unbiased, and fewer permutations
    /// for the same accuracy (Shapley.PermutationSampler). Off by default, so a market's recorded tasks replay as they ran.
    /// </summary>
    public bool ShapleyAntithetic { get; init; }

    /// <summary>
    /// With ShapleyRelativeError: reach that target by sampling positions instead of whole permutations (stratified by
    /// position, the samples allocated by a pilot's variances and the strata's costs; Shapley.UntilRelativeStratified).
    /// Unbiased, and at M in the hundreds a small fraction of the permutations' work. Off by default (recorded in the terms).
    /// </summary>
    public bool ShapleyStratified { get; init; }

    /// <summary>Exact Shapley over all 2^M coalitions instead of Monte Carlo (M &lt;= 24; the oracle, and affordable for M = 20).</summary>
    public bool ExactShapley { get; init; }

    /// <summary>Decimal places of the ledger's unit (8: amounts are multiples of 0.00000001).</summary>
    public int LedgerDecimals { get; init; } = 8;

    /// <summary>Fraction of each charge kept by the market as a fee before the sellers' split. Default none.</summary>
    public decimal MarketFeeRate { get; init; }

    /// <summary>
    /// Threads a task's large parts may use (the noise draw, the Gram blocks, RF*'s noise levels, the Shapley walks), from
    /// <see cref="ParallelMinSellers"/> sellers on; 1 is the sequential path. Changes no result, not even at rounding
    /// (every sum keeps its sequential order), so it is not part of the market's terms. Default: the processor count.
    /// </summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Fewest sellers from which <see cref="Parallelism"/> applies (smaller tasks do not pay for the hand-off).</summary>
    public const int ParallelMinSellers = ParallelWork.MinSellers;

    public static MarketParameters Default { get; } = new();

    /// <summary>Throws ArgumentException naming the first parameter that is out of range.</summary>
    public MarketParameters Validate()
    {
        static void Check(bool ok, string name, object value, string why)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, why);
        }
        Check(double.IsFinite(NoiseSigma) && NoiseSigma >= 0, nameof(NoiseSigma), NoiseSigma, "must be finite and >= 0");
        Check(TrainFraction > 0 && TrainFraction < 1, nameof(TrainFraction), TrainFraction, "must lie in (0, 1)");
        Check(double.IsFinite(RidgeAlpha) && RidgeAlpha >= 0, nameof(RidgeAlpha), RidgeAlpha, "must be finite and >= 0");
        Check(IntegralPoints >= 2, nameof(IntegralPoints), IntegralPoints, "must be at least 2");
        Check(double.IsFinite(MinPrice) && MinPrice >= 0, nameof(MinPrice), MinPrice, "must be finite and >= 0");
        Check(double.IsFinite(MaxPrice) && MaxPrice > MinPrice, nameof(MaxPrice), MaxPrice, "must be finite and above MinPrice");
        Check(double.IsFinite(Lipschitz) && Lipschitz > 0, nameof(Lipschitz), Lipschitz, "must be finite and > 0");
        Check(ExpectedTasks >= 1, nameof(ExpectedTasks), ExpectedTasks, "must be at least 1");
        Check(double.IsFinite(RobustnessLambda) && RobustnessLambda >= 0, nameof(RobustnessLambda), RobustnessLambda, "must be finite and >= 0");
        Check(Enum.IsDefined(PayoutRule), nameof(PayoutRule), PayoutRule, "must be one of " + string.Join(", ", PayoutRules.Names));
        Check(Enum.IsDefined(Allocation), nameof(Allocation), Allocation, "must be one of " + string.Join(", ", SettingNames.Names<AllocationKind>()));
        Check(Enum.IsDefined(TaskKind), nameof(TaskKind), TaskKind, "must be one of " + string.Join(", ", SettingNames.Names<TaskKind>()));
        Check(Enum.IsDefined(Similarity), nameof(Similarity), Similarity, "must be one of " + string.Join(", ", SettingNames.Names<SimilarityKind>()));
        var interventional = PayoutRule is PayoutRule.Interventional or PayoutRule.InterventionalMse;
        // The interventional games value a coalition by the regression's held-out squared error; a classifier has none.
        Check(!(interventional && TaskKind == TaskKind.Classification), nameof(PayoutRule), PayoutRules.Name(PayoutRule),
            "is a regression payout rule; a classification market takes paper, renormalised or thresholded");
        Check(!(interventional && Similarity != SimilarityKind.Cosine), nameof(Similarity), SettingNames.Name(Similarity),
            "applies to PD_B*'s rules (paper, renormalised, thresholded) only; the interventional rules use no similarity");
        Check(SimilarityThreshold is >= 0 and < 1, nameof(SimilarityThreshold), SimilarityThreshold, "must lie in [0, 1)");
        Check(ShapleyPermutations >= 1, nameof(ShapleyPermutations), ShapleyPermutations, "must be at least 1");
        Check(Parallelism >= 1, nameof(Parallelism), Parallelism, "must be at least 1");
        Check(LedgerDecimals is >= 0 and <= 18, nameof(LedgerDecimals), LedgerDecimals, "must lie in [0, 18]");
        Check(MarketFeeRate >= 0 && MarketFeeRate < 1, nameof(MarketFeeRate), MarketFeeRate, "must lie in [0, 1)");
        ShapleyTarget?.Validate();
        if (ShapleyRelativeError is { } r)
        {
            Check(r > 0 && r < 1, nameof(ShapleyRelativeError), r, "must lie in (0, 1)");
            Check(ShapleyTarget is null, nameof(ShapleyRelativeError), r, "cannot be set together with ShapleyTarget");
        }
        if (ShapleyStratified)
        {
            Check(ShapleyRelativeError is not null, nameof(ShapleyStratified), ShapleyStratified, "needs ShapleyRelativeError (the target it samples to)");
            Check(!ShapleyAntithetic, nameof(ShapleyStratified), ShapleyStratified, "cannot be set together with ShapleyAntithetic (it samples positions, not whole permutations)");
        }
        return this;
    }
}
