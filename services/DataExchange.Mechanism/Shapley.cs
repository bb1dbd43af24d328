namespace DataExchange.Mechanism;

/// <summary>Shapley values of the sellers for one task's gain, and how many permutations estimated them (0 when exact).</summary>
public sealed record ShapleyEstimate(double[] Values, int Permutations)
{
    /// <summary>The sampling work in whole-permutation walks (a walk to depth D counts about (D / M)^3 of one); 0 when not measured.</summary>
    internal double Work { get; init; }

    /// <summary>psi = max(0, phi) / sum(max(0, phi)): balanced shares; negative estimates pay nothing (all zero when none is positive).</summary>
    public double[] Shares() => Shapley.Shares(Values);
}

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
        => MonteCarloOf(gains.Game(noiseScale), permutations, seed, antithetic);

    internal static ShapleyEstimate MonteCarloOf(ICoalitionGame game, int permutations, ulong seed, bool antithetic = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permutations);
        var sampler = new PermutationSampler(game, seed, antithetic);
        var samples = antithetic ? (permutations + 1) / 2 : permutations;
        for (var k = 0; k < samples; k++) sampler.Walk();
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
        => UntilAccurateOf(gains.Game(noiseScale), accuracy, seed, antithetic);

    /// <summary>The same stopping rule for any game whose values lie in [0, 1] (marginals in [-1, 1], as the rule assumes).</summary>
    internal static ShapleyEstimate UntilAccurateOf(ICoalitionGame game, ShapleyAccuracy accuracy, ulong seed, bool antithetic = false)
    {
        accuracy.Validate();
        var m = game.Sellers;
        var rule = AccuracyRule.For(m, accuracy);
        var sampler = new PermutationSampler(game, seed, antithetic);
        var k = 0;
        foreach (var checkpoint in rule.Checkpoints)
        {
            while (k < checkpoint)
            {
                sampler.Walk();
                k++;
            }
            var worst = 0.0;
            for (var j = 0; j < m && worst <= accuracy.Epsilon; j++)
                worst = Math.Max(worst, rule.HalfWidth(sampler.Variance(j), k));
            if (worst <= accuracy.Epsilon) return new ShapleyEstimate(sampler.Means(), sampler.Permutations);
        }
        while (k < rule.Cap)
        {
            sampler.Walk();
            k++;
        }
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
        var sampler = new PermutationSampler(game, seed, antithetic);
        var n = 0;
        for (var checkpoint = (double)RelativeMinSamples; n < RelativeMaxSamples; checkpoint *= AccuracyRule.CheckpointRatio)
        {
            var next = Math.Min(RelativeMaxSamples, (int)Math.Ceiling(checkpoint));
            while (n < next)
            {
                sampler.Walk();
                n++;
            }
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
        return UntilRelativeStratifiedOf(gains.Game(noiseScale), RelativeTarget(gains, noiseScale, relativeError), seed);
    }

    internal static ShapleyEstimate UntilRelativeStratifiedOf(ICoalitionGame game, double target, ulong seed)
    {
        var m = game.Sellers;
        var fullWalk = StratifiedSampler.WalkCost(m);
        var s = StratifiedShapley.Run(game, target, seed, RelativeMaxSamples * fullWalk);
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

    /// <summary>
    /// Permutation walks with running means and variances of each seller's marginal gain (Welford), one sample per walk;
    /// or, antithetic, one sample per pair: a uniform permutation and its reverse, the sample being the average of the
    /// seller's two marginals. Each of the two is a uniform permutation, so the average is unbiased; a seller early in
    /// one is late in the other, and marginals fall with position, so the two are negatively correlated and the pair
    /// varies less than two independent walks (antithetic permutations: Illes and Kerenyi 2019, "Estimation of the
    /// Shapley value by ergodic sampling", arXiv 1906.05224; Mitchell, Cooper, Frank and Holmes 2022, "Sampling
    /// permutations for Shapley value estimation", JMLR 23). Pairs are independent of each other, so the sample
    /// variance over pairs is what a stopping rule may use; over single walks it would not be.
    /// </summary>
    private sealed class PermutationSampler
    {
        private readonly ICoalitionGame _game;
        private readonly SeededRandom _rng;
        private readonly int[] _order;
        private readonly double[] _mean;
        private readonly double[] _m2;
        private readonly double[]? _first;
        private readonly double _empty;
        private int _n;

        public PermutationSampler(ICoalitionGame game, ulong seed, bool antithetic = false)
        {
            _game = game;
            _rng = new SeededRandom(seed);
            _order = Enumerable.Range(0, game.Sellers).ToArray();
            _mean = new double[game.Sellers];
            _m2 = new double[game.Sellers];
            _first = antithetic ? new double[game.Sellers] : null;
            _empty = game.EmptyGain;
        }

        public int Permutations => _first is null ? _n : 2 * _n;

        public void Walk()
        {
            // Each walk shuffles the previous order: still a uniform permutation, and one stream of the seed.
            _rng.Shuffle(_order);
            _n++;
            if (_first is null)
            {
                _game.Reset();
                var previous = _empty;
                foreach (var j in _order)
                {
                    var gain = _game.Join(j, previous);
                    Add(j, gain - previous);
                    previous = gain;
                }
                return;
            }
            Marginals(_first);
            _game.Reset();
            var last = _empty;
            for (var i = _order.Length - 1; i >= 0; i--)
            {
                var j = _order[i];
                var gain = _game.Join(j, last);
                Add(j, 0.5 * (_first[j] + (gain - last)));
                last = gain;
            }
        }

        private void Marginals(double[] into)
        {
            _game.Reset();
            var previous = _empty;
            foreach (var j in _order)
            {
                var gain = _game.Join(j, previous);
                into[j] = gain - previous;
                previous = gain;
            }
        }

        private void Add(int j, double x)
        {
            var d = x - _mean[j];
            _mean[j] += d / _n;
            _m2[j] += d * (x - _mean[j]);
        }

        public double[] Means() => (double[])_mean.Clone();

        public double Variance(int j) => _n > 1 ? _m2[j] / (_n - 1) : 0.0;
    }
}

/// <summary>
/// The stopping rule of <see cref="Shapley.UntilAccurate"/>, fixed from (M, eps, delta) before the first permutation, so
/// its union bound runs over a set of checks chosen in advance; checking a fixed-n bound after every batch instead
/// would not hold under that optional stopping. Failure means some seller ends more than eps from its Shapley value:
/// <list type="bullet">
/// <item>Range: both gains are clipped to [0, 1] and neither is monotone in the coalition (a ridge fit scored on the
/// held-out part can lose from an extra feature), so a marginal G(S + j) - G(S) lies in [-1, 1]: R = 2.</item>
/// <item>Cap: by Hoeffding, after n walks P(max_j |mean_j - phi_j| &gt;= eps) &lt;= 2M exp(-2 n eps^2 / R^2) =: delta_cap.
/// Thm 5.3's K = M ln(2/delta) / (2 eps^2) makes that at most delta when R = 1, but with R = 2 only when
/// 2M (delta/2)^(M/4) &lt;= delta (M &gt;= 7 at delta = 0.1). So Cap = max(K, R^2 ln(4M/delta) / (2 eps^2)): delta_cap &lt;= delta/2.</item>
/// <item>Early stop: at checkpoints k_i = ceil(k0 1.1^i) &lt; Cap (N of them), each seller's mean gets the empirical Bernstein
/// bound of Maurer and Pontil (2009, Thm 4), two-sided, at confidence delta_seq / (N M) with delta_seq = delta - delta_cap:
/// |mean - phi| &lt;= sqrt(2 V_n L / n) + 7 R L / (3 (n - 1)), L = ln(4 N M / delta_seq), V_n the sample variance.
/// A union bound over checkpoints and sellers (the geometric schedule of Mnih, Szepesvari and Audibert 2008, "Empirical
/// Bernstein stopping") makes all of them hold at once with probability 1 - delta_seq; the run stops at the first
/// checkpoint where every half-width is at most eps. k0 is the first n at which the range term alone is at most eps;
/// earlier checks could never stop and would only spend delta.</item>
/// <item>Together: P(failure) &lt;= delta_seq (some bound fails at some checkpoint) + delta_cap (the cap is reached and
/// Hoeffding fails) = delta.</item>
/// </list>
/// </summary>
internal sealed class AccuracyRule
{
    /// <summary>Width of the interval a marginal gain lies in ([-1, 1]).</summary>
    public const double Range = 2.0;

    /// <summary>Ratio of consecutive checkpoints: a finer grid costs ln N in L, a coarser one overshoots (1.05 to 1.5 stopped within ~15% of each other on synthetic tasks).</summary>
    public const double CheckpointRatio = 1.1;

    private AccuracyRule(int cap, int[] checkpoints, double logTerm, double capDelta)
    {
        Cap = cap;
        Checkpoints = checkpoints;
        LogTerm = logTerm;
        CapDelta = capDelta;
    }

    public int Cap { get; }

    /// <summary>Sample counts at which the bound is checked, ascending, all below <see cref="Cap"/>.</summary>
    public IReadOnlyList<int> Checkpoints { get; }

    /// <summary>L = ln(4 N M / delta_seq).</summary>
    public double LogTerm { get; }

    /// <summary>delta_cap: Hoeffding's failure probability at the cap (at most delta / 2).</summary>
    public double CapDelta { get; }

    public static AccuracyRule For(int sellers, ShapleyAccuracy accuracy)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sellers);
        var (eps, delta) = (accuracy.Epsilon, accuracy.Delta);
        var hoeffding = Range * Range * Math.Log(4.0 * sellers / delta) / (2.0 * eps * eps);
        var paper = sellers * Math.Log(2.0 / delta) / (2.0 * eps * eps);
        var capReal = Math.Ceiling(Math.Max(paper, hoeffding));
        if (!(capReal <= int.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(accuracy), accuracy, $"eps = {eps} needs more than {int.MaxValue} permutations.");
        var cap = (int)capReal;
        var capDelta = 2.0 * sellers * Math.Exp(-2.0 * cap * eps * eps / (Range * Range));
        var seqDelta = delta - capDelta;
        // k0 depends on L, which depends on the number of checkpoints N: grow N until the schedule fits in it.
        var checkpoints = Schedule(sellers, eps, seqDelta, 1, cap);
        for (var n = 1; checkpoints.Count > n;)
        {
            n = checkpoints.Count;
            checkpoints = Schedule(sellers, eps, seqDelta, n, cap);
        }
        var log = Math.Log(4.0 * Math.Max(1, checkpoints.Count) * sellers / seqDelta);
        return new AccuracyRule(cap, checkpoints.ToArray(), log, capDelta);
    }

    /// <summary>k_i = ceil(k0 r^i) below the cap, k0 the first n whose range term 7 R L / (3 (n - 1)) is at most eps with N checks.</summary>
    private static List<int> Schedule(int sellers, double eps, double seqDelta, int n, int cap)
    {
        var log = Math.Log(4.0 * n * sellers / seqDelta);
        var k0 = Math.Max(2.0, Math.Ceiling(1.0 + 7.0 * Range * log / (3.0 * eps)));
        var checkpoints = new List<int>();
        for (var k = k0; k < cap; k *= CheckpointRatio)
        {
            var c = (int)Math.Ceiling(k);
            if (c < cap && (checkpoints.Count == 0 || c > checkpoints[^1])) checkpoints.Add(c);
        }
        return checkpoints;
    }

    /// <summary>Empirical Bernstein half-width after n &gt;= 2 samples with sample variance V_n (Maurer and Pontil 2009, Thm 4).</summary>
    public double HalfWidth(double variance, int n)
        => Math.Sqrt(2.0 * variance * LogTerm / n) + 7.0 * Range * LogTerm / (3.0 * (n - 1));
}
