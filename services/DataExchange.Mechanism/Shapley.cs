namespace DataExchange.Mechanism;

/// <summary>
/// PD_A* (Alg. 2, Eq. 2): each seller's Shapley value of the gain, on the features as allocated to this task.
/// Every estimate walks coalitions with one growing Cholesky factor (CoalitionWalker), never refactoring.
/// </summary>
public static class Shapley
{
    /// <summary>Thm 5.3's K = M ln(2/delta) / (2 eps^2): enough permutations for max error below eps w.p. 1 - delta.</summary>
    public static int PaperPermutations(int sellers, ShapleyAccuracy accuracy)
        => (int)Math.Ceiling(sellers * Math.Log(2.0 / accuracy.Delta) / (2.0 * accuracy.Epsilon * accuracy.Epsilon));

    public static double[] Shares(IReadOnlyList<double> values)
    {
        var shares = new double[values.Count];
        var total = 0.0;
        for (var m = 0; m < shares.Length; m++) total += Math.Max(0.0, values[m]);
        if (total <= 0) return shares;
        for (var m = 0; m < shares.Length; m++) shares[m] = Math.Max(0.0, values[m]) / total;
        return shares;
    }

    /// <summary>
    /// Monte Carlo with K random permutations from the seed; one walk gives every seller one sample. With
    /// <paramref name="antithetic"/>, ceil(K/2) antithetic pairs instead (see <see cref="PermutationSampler"/>).
    /// </summary>
    public static ShapleyEstimate MonteCarlo(TaskGains gains, double noiseScale, int permutations, ulong seed, bool antithetic = false)
        => MonteCarloOf(gains.Game(noiseScale), permutations, seed, antithetic, Threads(gains));

    /// <summary>Threads the walks of a task may use (<see cref="MarketParameters.Parallelism"/>; the same values at any count).</summary>
    internal static int Threads(TaskGains gains) => ParallelWork.Threads(gains.Parameters, gains.Moments.Sellers);

    internal static ShapleyEstimate MonteCarloOf(ICoalitionGame game, int permutations, ulong seed, bool antithetic = false, int threads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permutations);
        var sampler = new PermutationSampler(game, seed, antithetic, threads);
        sampler.Walk(antithetic ? (permutations + 1) / 2 : permutations);
        return new ShapleyEstimate(sampler.Means(), sampler.Permutations);
    }

    /// <summary>
    /// Monte Carlo that stops once every seller's estimate is within eps of its Shapley value with probability at
    /// least 1 - delta, counting every check it makes (the rule and its proof: <see cref="AccuracyRule"/>).
    /// Never draws more than <see cref="UntilAccurateCap"/> samples (a sample is a permutation, or with
    /// <paramref name="antithetic"/> a pair, whose average marginal lies in [-1, 1] as well, so the rule holds unchanged
    /// with n counting pairs). Reports the number of permutations it used.
    /// </summary>
    public static ShapleyEstimate UntilAccurate(TaskGains gains, double noiseScale, ShapleyAccuracy accuracy, ulong seed, bool antithetic = false)
        => UntilAccurateOf(gains.Game(noiseScale), accuracy, seed, antithetic, Threads(gains));

    /// <summary>The same stopping rule for any game whose values lie in [0, 1] (marginals in [-1, 1], as the rule assumes).</summary>
    internal static ShapleyEstimate UntilAccurateOf(ICoalitionGame game, ShapleyAccuracy accuracy, ulong seed, bool antithetic = false, int threads = 1)
    {
        accuracy.Validate();
        var m = game.Sellers;
        var rule = AccuracyRule.For(m, accuracy);
        var sampler = new PermutationSampler(game, seed, antithetic, threads);
        var k = 0;
        foreach (var checkpoint in rule.Checkpoints)
        {
            // Between two checks the number of walks is fixed in advance, so they may run in parallel.
            sampler.Walk(checkpoint - k);
            k = checkpoint;
            var worst = 0.0;
            for (var j = 0; j < m && worst <= accuracy.Epsilon; j++)
                worst = Math.Max(worst, rule.HalfWidth(sampler.Variance(j), k));
            if (worst <= accuracy.Epsilon) return new ShapleyEstimate(sampler.Means(), sampler.Permutations);
        }
        sampler.Walk(rule.Cap - k);
        return new ShapleyEstimate(sampler.Means(), sampler.Permutations);
    }
    /// <summary>Fewest samples (permutations or pairs) before <see cref="UntilRelative"/> trusts a sample variance.</summary>
    public const int RelativeMinSamples = 32;

    /// <summary>Most samples <see cref="UntilRelative"/> draws.</summary>
    public const int RelativeMaxSamples = 100_000;

    /// <summary>Total gain below which <see cref="UntilRelative"/> measures errors against this floor instead.</summary>
    public const double RelativeMinTotal = 0.01;

    /// <summary>
    /// Monte Carlo to a target relative to the shares: it stops at the first checkpoint (n = 32 ceil(1.1^i) samples,
    /// fixed in advance) where every seller's estimated standard error sqrt(V_j / n) is at most r / M of the total
    /// G(all) - G(empty) (floored at <see cref="RelativeMinTotal"/>), i.e. r of the average share, whatever M is. The
    /// total is computed exactly before the first walk, so the target does not depend on the samples. This is a
    /// standard-error (CLT) target, not a finite-sample bound: with Bonferroni over the M sellers, max error is below
    /// z_(delta / 2M) r / M of the total with probability about 1 - delta. A bound that holds at every n
    /// (<see cref="UntilAccurate"/> at eps = r / M) needs n >= 7 R L / (3 eps) for its range term alone, about 10^5 to
    /// 10^6 permutations at M = 200 and r = 0.05, whatever the variances are.
    /// </summary>
    public static ShapleyEstimate UntilRelative(TaskGains gains, double noiseScale, double relativeError, ulong seed, bool antithetic = false)
    {
        var target = RelativeTarget(gains, noiseScale, relativeError);
        var game = gains.Game(noiseScale);
        var m = game.Sellers;
        var sampler = new PermutationSampler(game, seed, antithetic, Threads(gains));
        var n = 0;
        for (var checkpoint = (double)RelativeMinSamples; n < RelativeMaxSamples; checkpoint *= AccuracyRule.CheckpointRatio)
        {
            var next = Math.Min(RelativeMaxSamples, (int)Math.Ceiling(checkpoint));
            if (next > n) sampler.Walk(next - n);
            n = Math.Max(n, next);
            var worst = 0.0;
            for (var j = 0; j < m && worst <= target; j++) worst = Math.Max(worst, Math.Sqrt(sampler.Variance(j) / n));
            if (worst <= target) break;
        }
        return new ShapleyEstimate(sampler.Means(), sampler.Permutations) { Work = sampler.Permutations };
    }

    /// <summary>
    /// r / M of the total gain G(all) - G(empty) (floored at <see cref="RelativeMinTotal"/>), computed exactly on the
    /// market's own game (regression or classification).
    /// </summary>
    private static double RelativeTarget(TaskGains gains, double noiseScale, double relativeError)
    {
        if (!(relativeError > 0 && relativeError < 1)) throw new ArgumentOutOfRangeException(nameof(relativeError), relativeError, "must lie in (0, 1).");
        var full = gains.Game(noiseScale);
        for (var j = 0; j < full.Sellers; j++) full.Push(j);
        return relativeError * Math.Max(Math.Abs(full.Gain() - full.EmptyGain), RelativeMinTotal) / full.Sellers;
    }

    /// <summary>
    /// The target of <see cref="UntilRelative"/> (every seller's standard error at most r / M of the total gain), reached
    /// by sampling positions instead of whole permutations (<see cref="StratifiedSampler"/>: unbiased, the strata weighted
    /// exactly; the samples allocated by a pilot's variances and the strata's costs). Much less work at large M, where a
    /// seller's marginal is large only at the first, cheap positions. Permutations reports the walks made, each a
    /// permutation's prefix (most of them short), the pilot's included.
    /// </summary>
    public static ShapleyEstimate UntilRelativeStratified(TaskGains gains, double noiseScale, double relativeError, ulong seed)
    {
        return UntilRelativeStratifiedOf(gains.Game(noiseScale), RelativeTarget(gains, noiseScale, relativeError), seed, Threads(gains));
    }

    internal static ShapleyEstimate UntilRelativeStratifiedOf(ICoalitionGame game, double target, ulong seed, int threads = 1)
    {
        var m = game.Sellers;
        var fullWalk = StratifiedSampler.WalkCost(m);
        var s = StratifiedShapley.Run(game, target, seed, RelativeMaxSamples * fullWalk, threads);
        return new ShapleyEstimate(s.Estimate(), (int)Math.Min(int.MaxValue, s.Walks + s.PilotWalks))
        {
            Work = (s.Work + s.PilotWork) / fullWalk,
        };
    }


    /// <summary>
    /// Most permutations <see cref="UntilAccurate"/> draws: Thm 5.3's K, raised when M is small so that Hoeffding's
    /// bound for marginals in [-1, 1] still gives max error below eps with probability 1 - delta/2 (see <see cref="AccuracyRule"/>).
    /// </summary>
    public static int UntilAccurateCap(int sellers, ShapleyAccuracy accuracy)
    {
        accuracy.Validate();
        return AccuracyRule.For(sellers, accuracy).Cap;
    }

    /// <summary>Largest number of sellers the exact computation accepts (2^M gains are held in memory).</summary>
    public const int MaxExactSellers = 24;

    /// <summary>
    /// Exact Shapley over all 2^M coalitions (the oracle; M &lt;= 24). Coalitions are visited depth first, each one
    /// its parent plus a larger index, so the Cholesky factor of the parent is the prefix of the child's: O(k^2) per
    /// coalition. Then phi(m) = sum over S not containing m of |S|!(M-|S|-1)!/M! (G(S+m) - G(S)).
    /// </summary>
    public static ShapleyEstimate Exact(TaskGains gains, double noiseScale)
    {
        var m = gains.Moments.Sellers;
        if (m > MaxExactSellers) throw new ArgumentOutOfRangeException(nameof(gains), m, $"exact Shapley takes at most {MaxExactSellers} sellers.");
        var g = new double[1 << m];
        var walker = gains.Game(noiseScale);
        g[0] = walker.EmptyGain;
        Visit(walker, g, 0, 0, g[0]);
        return new ShapleyEstimate(FromGains(g, m), 0);
    }

    /// <summary>phi(m) = sum over S not containing m of |S|!(M-|S|-1)!/M! (g[S + m] - g[S]), from every coalition's value g[mask].</summary>
    internal static double[] FromGains(double[] g, int m)
    {
        // weight[s] = s! (M - s - 1)! / M!, by a recurrence that stays in range for M up to 24.
        var weight = new double[m];
        weight[0] = 1.0 / m;
        for (var s = 1; s < m; s++) weight[s] = weight[s - 1] * s / (m - s);
        var phi = new double[m];
        var size = new byte[1 << m];
        for (var mask = 1; mask < size.Length; mask++) size[mask] = (byte)(size[mask >> 1] + (mask & 1));
        for (var mask = 0; mask < g.Length; mask++)
        {
            var w = weight[Math.Min(size[mask], m - 1)];
            var gm = g[mask];
            for (var j = 0; j < m; j++)
                if ((mask & (1 << j)) == 0)
                    phi[j] += w * (g[mask | (1 << j)] - gm);
        }
        return phi;
    }

    private static void Visit(IGrowingCoalition walker, double[] g, int mask, int next, double parentGain)
    {
        for (var j = next; j < walker.Sellers; j++)
        {
            var child = mask | (1 << j);
            var pushed = walker.Push(j);
            var gain = pushed ? walker.Gain() : parentGain;
            g[child] = gain;
            Visit(walker, g, child, j + 1, gain);
            if (pushed) walker.Pop();
        }
    }
}
