namespace DataExchange.Mechanism;

/// <summary>The stratified estimator run to a standard-error target (<see cref="Shapley.UntilRelativeStratified"/>).</summary>
internal static class StratifiedShapley
{
    /// <summary>Cycles of every band in the pilot (its samples only plan the allocation; they are not in the estimate).</summary>
    public const int PilotCycles = 4;

    /// <summary>Fewest cycles per band in the estimate, so every stratum's variance rests on a few samples.</summary>
    public const int MinCycles = 4;

    /// <summary>Ratio of each allocation to the last when the target is not yet met (as the permutation rule's schedule).</summary>
    public const double GrowthRatio = 1.1;

    /// <summary>
    /// Samples until every seller's estimated standard error (from the strata's sample variances) is at most
    /// <paramref name="target"/>, or the work reaches <paramref name="maxWork"/>. A pilot of <see cref="PilotCycles"/>
    /// cycles per band estimates every stratum's variance V_j(b), and the allocation that meets the target for every seller
    /// at least cost (<see cref="Plan"/>: Neyman's allocation with costs, as in Castro et al. 2017, for the worst mixture of
    /// the sellers) is drawn afresh. The pilot's samples are left out of the estimate, so given the allocation it is exactly
    /// unbiased. When the fresh samples' own variances say the target is not met, the allocation is recomputed from them
    /// and every short band grows by at least <see cref="GrowthRatio"/> (the same kind of check the permutation rule
    /// makes at its geometric checkpoints: a standard-error target, not a finite-sample bound).
    /// </summary>
    public static StratifiedSampler Run(ICoalitionGame game, double target, ulong seed, double maxWork, int threads = 1)
    {
        var rng = new SeededRandom(seed);
        var pilot = new StratifiedSampler(game, rng, threads);
        for (var b = 0; b < pilot.Bands; b++) pilot.Run(b, PilotCycles, 0.0, double.PositiveInfinity);
        var sampler = new StratifiedSampler(game, rng, threads);
        var plan = Plan(pilot, target);
        var spent = pilot.Work;
        while (true)
        {
            for (var b = 0; b < sampler.Bands; b++) sampler.Run(b, plan[b], spent, maxWork);
            var worst = 0.0;
            for (var j = 0; j < game.Sellers; j++) worst = Math.Max(worst, sampler.EstimateVariance(j));
            if (worst <= target * target || spent + sampler.Work >= maxWork) break;
            var next = Plan(sampler, target);
            for (var b = 0; b < sampler.Bands; b++)
                if (next[b] > sampler.Cycles[b]) plan[b] = Math.Max(next[b], (int)Math.Ceiling(GrowthRatio * sampler.Cycles[b]));
        }
        sampler.PilotWork = spent;
        sampler.PilotWalks = pilot.Walks;
        return sampler;
    }

    /// <summary>
    /// Cycles per band so that every seller's variance sum_b a_b V_j(b) / c_b (a_b = (w_b / M)^2) is at most target^2 at
    /// least cost sum_b c_b C_b. For one profile V the optimum is Neyman's c_b = sqrt(a_b V_b / C_b) sum_b' sqrt(a_b' V_b' C_b')
    /// / target^2; for M profiles it is the optimum for a mixture V = sum_j lambda_j V_j, the weights found by
    /// multiplicative updates towards the sellers the plan leaves furthest above the target (a minimax: the sellers'
    /// largest variance in each band, the envelope, would plan for a seller who does not exist and cost up to twice as
    /// much). The plan is finally scaled so that every seller meets the target.
    /// </summary>
    private static int[] Plan(StratifiedSampler s, double target)
    {
        var bands = s.Bands;
        var m = s.Edges[^1];
        var a = new double[bands];
        var cost = new double[bands];
        var v = new double[m][];
        for (var b = 0; b < bands; b++)
        {
            var w = (double)(s.Edges[b + 1] - s.Edges[b]) / m;
            a[b] = w * w;
            cost[b] = s.CycleCost(b);
        }
        for (var j = 0; j < m; j++)
        {
            v[j] = new double[bands];
            for (var b = 0; b < bands; b++) v[j][b] = s.Variance(b, j);
        }
        var lambda = Enumerable.Repeat(1.0 / m, m).ToArray();
        var mix = new double[bands];
        var c = new double[bands];
        var ratio = new double[m];
        var best = new double[bands];
        var bestCost = double.PositiveInfinity;
        for (var iteration = 0; iteration < 40; iteration++)
        {
            Array.Clear(mix);
            for (var j = 0; j < m; j++)
                for (var b = 0; b < bands; b++) mix[b] += lambda[j] * v[j][b];
            var sum = 0.0;
            for (var b = 0; b < bands; b++) sum += Math.Sqrt(a[b] * mix[b] * cost[b]);
            for (var b = 0; b < bands; b++) c[b] = Math.Max(1e-9, Math.Sqrt(a[b] * mix[b] / cost[b]) * sum / (target * target));
            var worst = 0.0;
            var norm = 0.0;
            for (var j = 0; j < m; j++)
            {
                var variance = 0.0;
                for (var b = 0; b < bands; b++) variance += a[b] * v[j][b] / c[b];
                ratio[j] = variance / (target * target);
                worst = Math.Max(worst, ratio[j]);
                lambda[j] *= Math.Sqrt(ratio[j]);   // damped: the plain update overshoots back and forth
                norm += lambda[j];
            }
            var total = 0.0;
            for (var b = 0; b < bands; b++) total += c[b] * worst * cost[b];
            if (total < bestCost)
            {
                bestCost = total;
                for (var b = 0; b < bands; b++) best[b] = c[b] * Math.Max(1.0, worst);
            }
            if (!(norm > 0)) break;
            for (var j = 0; j < m; j++) lambda[j] /= norm;
        }
        var plan = new int[bands];
        for (var b = 0; b < bands; b++) plan[b] = (int)Math.Max(MinCycles, Math.Min(Math.Ceiling(best[b]), int.MaxValue / 2));
        return plan;
    }
}
