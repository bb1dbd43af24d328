namespace DataExchange.Mechanism;

/// <summary>Shapley values of the sellers for one task's gain, and how many permutations estimated them (0 when exact).</summary>
public sealed record ShapleyEstimate(double[] Values, int Permutations)
{
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

    /// <summary>Monte Carlo with K random permutations from the seed; one walk gives every seller one sample.</summary>
    public static ShapleyEstimate MonteCarlo(TaskGains gains, double noiseScale, int permutations, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permutations);
        var sampler = new PermutationSampler(gains.System(noiseScale), seed);
        for (var k = 0; k < permutations; k++) sampler.Walk();
        return new ShapleyEstimate(sampler.Means(), permutations);
    }

    /// <summary>
    /// Monte Carlo that stops once every seller's estimate is within eps with probability 1 - delta, by the
    /// empirical Bernstein bound (Maurer and Pontil 2009) with a union bound over sellers; marginals lie in [-1, 1].
    /// Never draws more than Thm 5.3's K. Reports the K it used.
    /// </summary>
    public static ShapleyEstimate UntilAccurate(TaskGains gains, double noiseScale, ShapleyAccuracy accuracy, ulong seed)
    {
        accuracy.Validate();
        var m = gains.Moments.Sellers;
        var cap = PaperPermutations(m, accuracy);
        var sampler = new PermutationSampler(gains.System(noiseScale), seed);
        var log = Math.Log(4.0 * m / accuracy.Delta);
        const double range = 2.0;
        const int batch = 16;
        var k = 0;
        while (k < cap)
        {
            var step = Math.Min(batch, cap - k);
            for (var i = 0; i < step; i++) sampler.Walk();
            k += step;
            if (k < 2) continue;
            var worst = 0.0;
            for (var j = 0; j < m; j++)
            {
                var variance = sampler.Variance(j);
                var halfWidth = Math.Sqrt(2.0 * variance * log / k) + 7.0 * range * log / (3.0 * (k - 1));
                worst = Math.Max(worst, halfWidth);
            }
            if (worst <= accuracy.Epsilon) break;
        }
        return new ShapleyEstimate(sampler.Means(), k);
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
        var sys = gains.System(noiseScale);
        var m = sys.Sellers;
        if (m > MaxExactSellers) throw new ArgumentOutOfRangeException(nameof(gains), m, $"exact Shapley takes at most {MaxExactSellers} sellers.");
        var g = new double[1 << m];
        var walker = new CoalitionWalker(sys);
        g[0] = sys.EmptyGain;
        Visit(walker, g, 0, 0, g[0]);

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
        return new ShapleyEstimate(phi, 0);
    }

    private static void Visit(CoalitionWalker walker, double[] g, int mask, int next, double parentGain)
    {
        for (var j = next; j < walker.System.Sellers; j++)
        {
            var child = mask | (1 << j);
            var pushed = walker.Push(j);
            var gain = pushed ? walker.Gain() : parentGain;
            g[child] = gain;
            Visit(walker, g, child, j + 1, gain);
            if (pushed) walker.Pop();
        }
    }

    /// <summary>Permutation walks with running means and variances of each seller's marginal gain (Welford).</summary>
    private sealed class PermutationSampler
    {
        private readonly CoalitionWalker _walker;
        private readonly SeededRandom _rng;
        private readonly int[] _order;
        private readonly double[] _mean;
        private readonly double[] _m2;
        private readonly double _empty;
        private int _n;

        public PermutationSampler(GainSystem sys, ulong seed)
        {
            _walker = new CoalitionWalker(sys);
            _rng = new SeededRandom(seed);
            _order = Enumerable.Range(0, sys.Sellers).ToArray();
            _mean = new double[sys.Sellers];
            _m2 = new double[sys.Sellers];
            _empty = sys.EmptyGain;
        }

        public void Walk()
        {
            // Each walk shuffles the previous order: still a uniform permutation, and one stream of the seed.
            _rng.Shuffle(_order);
            _walker.Reset();
            _n++;
            var previous = _empty;
            foreach (var j in _order)
            {
                var gain = _walker.Push(j) ? _walker.Gain() : previous;
                var x = gain - previous;
                var d = x - _mean[j];
                _mean[j] += d / _n;
                _m2[j] += d * (x - _mean[j]);
                previous = gain;
            }
        }

        public double[] Means() => (double[])_mean.Clone();

        public double Variance(int j) => _n > 1 ? _m2[j] / (_n - 1) : 0.0;
    }
}
