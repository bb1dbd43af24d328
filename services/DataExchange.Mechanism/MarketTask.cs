namespace DataExchange.Mechanism;

/// <summary>
/// The per-task steps of the mechanism as pure functions, in the order the market runs them:
/// quote (PF*) -> allocate (AF*, model, G, RF*, revenue curve) -> settle (PD_A*, PD_B*, payout).
/// The services call the same steps one per process; the in-process market calls them in a row.
/// </summary>
public static class MarketTask
{
    /// <summary>A task's gains under the market's allocation (noise or sampling) and task kind, from its noise seed.</summary>
    public static TaskGains Gains(FeatureSet sellers, ReadOnlySpan<double> target, ulong noiseSeed, MarketParameters parameters)
        => TaskGains.Create(sellers, target, noiseSeed, parameters);

    public static void ValidateBid(double bid)
    {
        if (!double.IsFinite(bid) || bid <= 0) throw new ArgumentOutOfRangeException(nameof(bid), bid, "bid must be a finite number above 0.");
    }

    /// <summary>AF*, the model, G(b), RF*(p, b) charged, RF*(c, b) for every grid price c, and the buyer's predictions.</summary>
    public static AllocationOutcome Allocate(FeatureSet sellers, double[] target, double bid, PriceQuote quote, ulong noiseSeed,
        PriceGrid grid, MarketParameters parameters)
    {
        ValidateBid(bid);
        return Allocate(Gains(sellers, target, noiseSeed, parameters), bid, quote, grid);
    }

    internal static AllocationOutcome Allocate(TaskGains gains, double bid, PriceQuote quote, PriceGrid grid)
    {
        var p = gains.Parameters;
        var curve = gains.RevenueCurve(grid, bid);
        var revenue = curve[quote.Index];
        return new AllocationOutcome(
            quote.Price, quote.Index, bid,
            gains.AllocatedNoise(quote.Price, bid),
            gains.Gain(quote.Price, bid),
            revenue,
            Payout.Charge(revenue, p.LedgerDecimals),
            curve,
            gains.Moments.TrainSize,
            gains.Predictions(quote.Price, bid));
    }

    /// <summary>The sellers' values on the features as allocated to this task, then the payout rule's split of the charge.</summary>
    public static SettlementOutcome Settle(FeatureSet sellers, double[] target, double bid, double price, decimal charge,
        TaskSeeds seeds, MarketParameters parameters)
    {
        ValidateBid(bid);
        return Settle(Gains(sellers, target, seeds.Noise, parameters), sellers, bid, price, charge, seeds.Permutations);
    }

    internal static SettlementOutcome Settle(TaskGains gains, FeatureSet sellers, double bid, double price, decimal charge, ulong permutationSeed)
    {
        var s = gains.AllocatedNoise(price, bid);
        return PayOut(SellerValues(gains, s, permutationSeed), sellers, charge, gains.Parameters);
    }

    /// <summary>
    /// The Shapley values the market's payout rule splits by, at noise level s: PD_A* (Alg. 2, the model refitted on
    /// every coalition) for the paper, renormalised and thresholded rules; the interventional game for the
    /// interventional rules. Exact, to a target accuracy or with K permutations, as the parameters say, except
    /// interventional-mse, whose closed form is always exact.
    /// </summary>
    public static ShapleyEstimate SellerValues(TaskGains gains, double noiseScale, ulong permutationSeed)
    {
        var p = gains.Parameters;
        var s = noiseScale;
        if (p.PayoutRule == PayoutRule.InterventionalMse) return InterventionalShapley.SquaredError(gains, s);
        if (p.PayoutRule == PayoutRule.Interventional)
            return p.ExactShapley ? InterventionalShapley.Exact(gains, s)
                : p.ShapleyTarget is { } accuracy ? InterventionalShapley.UntilAccurate(gains, s, accuracy, permutationSeed)
                : InterventionalShapley.MonteCarlo(gains, s, p.ShapleyPermutations, permutationSeed);
        return p.ExactShapley ? Shapley.Exact(gains, s)
            : p.ShapleyRelativeError is { } r ? p.ShapleyStratified ? Shapley.UntilRelativeStratified(gains, s, r, permutationSeed)
                : Shapley.UntilRelative(gains, s, r, permutationSeed, p.ShapleyAntithetic)
            : p.ShapleyTarget is { } target ? Shapley.UntilAccurate(gains, s, target, permutationSeed, p.ShapleyAntithetic)
            : Shapley.MonteCarlo(gains, s, p.ShapleyPermutations, permutationSeed, p.ShapleyAntithetic);
    }

    /// <summary>
    /// The payout rule on the sellers' values, then the decimal split of the charge (charge = paid + retained + fee, exactly):
    /// paper: PD_B* (Alg. 3) with SM = |cos| (or 1 - Hellinger distance, the market's Similarity), the withheld part retained; renormalised: the same shares renormalised and
    /// the whole net charge paid; thresholded: PD_B* with SM' = max(0, (|cos| - tau) / (1 - tau)), the withheld part
    /// retained; interventional and interventional-mse: the shares themselves, the whole net charge paid.
    /// </summary>
    public static SettlementOutcome PayOut(ShapleyEstimate values, FeatureSet sellers, decimal charge, MarketParameters parameters)
    {
        var p = parameters;
        if (values.Values.Length != sellers.Sellers)
            throw new ArgumentException($"{values.Values.Length} values for {sellers.Sellers} sellers.", nameof(values));
        var shares = values.Shares();
        double[] paidBy;
        var payAll = PayoutRules.PaysAll(p.PayoutRule);
        if (p.PayoutRule is PayoutRule.Interventional or PayoutRule.InterventionalMse)
        {
            paidBy = (double[])shares.Clone();
        }
        else
        {
            var threshold = p.PayoutRule == PayoutRule.Thresholded ? p.SimilarityThreshold : 0.0;
            paidBy = RobustShares.Apply(shares, sellers.Similarity(threshold, p.Similarity, ParallelWork.Threads(p, sellers.Sellers)), p.RobustnessLambda,
                renormalise: p.PayoutRule == PayoutRule.Renormalised);
        }
        var split = Payout.Split(charge, sellers.SellerIds, paidBy, p.LedgerDecimals, p.MarketFeeRate, distributeRemainder: payAll);
        return new SettlementOutcome(values, shares, paidBy, split);
    }

    /// <summary>
    /// Allocation and settlement of one task at a quoted price, sharing one set of task moments. <paramref name="phaseDone"/>
    /// is told as each phase ends, so a caller can time them (the library has no clock).
    /// </summary>
    public static TaskOutcome Run(string buyerId, FeatureSet sellers, double[] target, double bid, PriceQuote quote, TaskSeeds seeds,
        PriceGrid grid, MarketParameters parameters, Action<TaskPhase>? phaseDone = null)
    {
        ValidateBid(bid);
        var gains = Gains(sellers, target, seeds.Noise, parameters);
        phaseDone?.Invoke(TaskPhase.Moments);
        var allocation = Allocate(gains, bid, quote, grid);
        phaseDone?.Invoke(TaskPhase.Allocation);
        var s = gains.AllocatedNoise(quote.Price, bid);
        var shapley = SellerValues(gains, s, seeds.Permutations);
        phaseDone?.Invoke(TaskPhase.Shapley);
        var settlement = PayOut(shapley, sellers, allocation.Charge, parameters);
        phaseDone?.Invoke(TaskPhase.Settlement);
        return new TaskOutcome(buyerId, seeds, allocation, settlement);
    }
}
