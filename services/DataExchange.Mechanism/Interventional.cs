namespace DataExchange.Mechanism;

/// <summary>
/// The interventional game of one task at noise level s (Falconer, Kazempour and Pinson, "Towards Replication-Robust
/// Analytics Markets", arXiv 2310.06000). The model is fitted once on all sellers' features as allocated; a coalition S
/// predicts with those coefficients restricted to S and every other feature held at its training mean, which for a
/// linear model is the interventional expectation E[f(X) | do(X_S = x_S)] with the other features at their training
/// distribution. Nothing is refitted, so a seller and its copies share the one coefficient mass the full fit gives
/// them (ridge splits it equally among identical features) instead of each copy being worth the original alone.
/// In the standardised coordinates of <see cref="GainSystem"/>, with beta the full fit's coefficients:
/// SSE(S) = R0 - 2 sum_{i in S} beta_i q_i + sum_{i, j in S} beta_i beta_j Q_ij, and v(S) = G(SSE(S)).
/// A seller joining S changes SSE by beta_j (beta_j Q_jj + 2 u_j - 2 q_j) with u = Q_{., S} beta_S, so a join costs
/// O(M) against the refitted game's O(k^2) plus a back substitution.
/// </summary>
internal sealed class InterventionalGame : ICoalitionGame
{
    private readonly GainSystem _sys;
    private readonly double[] _beta;
    private readonly double[] _u;
    private double _sse;

    public InterventionalGame(GainSystem system)
    {
        _sys = system;
        var walker = new CoalitionWalker(system);
        for (var j = 0; j < system.Sellers; j++) walker.Push(j);
        _beta = walker.StandardisedCoefficients();
        _u = new double[system.Sellers];
        Reset();
    }

    public GainSystem System => _sys;

    /// <summary>The full fit's coefficients on the standardised features (0 for a feature the fit left out).</summary>
    public ReadOnlySpan<double> Beta => _beta;

    public int Sellers => _sys.Sellers;

    public double EmptyGain => _sys.EmptyGain;

    public void Reset()
    {
        Array.Clear(_u);
        _sse = _sys.R0;
    }

    public double Join(int j, double previous)
    {
        var b = _beta[j];
        if (b == 0.0) return _sys.GainFromSse(_sse);
        var m = _sys.Sellers;
        _sse += b * (b * _sys.Q[j * m + j] + 2.0 * _u[j] - 2.0 * _sys.Qv[j]);
        var qj = _sys.Q.AsSpan(j * m, m);
        for (var k = 0; k < m; k++) _u[k] += b * qj[k];
        return _sys.GainFromSse(_sse);
    }

    /// <summary>v(S) for every coalition (bit mask), depth first: each child extends its parent's u by one row of Q.</summary>
    public double[] GainTable()
    {
        var m = _sys.Sellers;
        var g = new double[1 << m];
        g[0] = _sys.EmptyGain;
        // u per depth; a child only ever reads u at indices above the seller it added, so only those are updated.
        var u = new double[m + 1][];
        for (var d = 0; d <= m; d++) u[d] = new double[m];
        Visit(g, u, 0, 0, 0, _sys.R0);
        return g;
    }

    private void Visit(double[] g, double[][] u, int depth, int mask, int next, double sse)
    {
        var m = _sys.Sellers;
        var q = _sys.Q;
        var parent = u[depth];
        var child = u[depth + 1];
        for (var j = next; j < m; j++)
        {
            var b = _beta[j];
            var childSse = sse;
            if (b != 0.0)
            {
                childSse += b * (b * q[j * m + j] + 2.0 * parent[j] - 2.0 * _sys.Qv[j]);
                for (var k = j + 1; k < m; k++) child[k] = parent[k] + b * q[j * m + k];
            }
            else
            {
                for (var k = j + 1; k < m; k++) child[k] = parent[k];
            }
            var childMask = mask | (1 << j);
            g[childMask] = _sys.GainFromSse(childSse);
            if (j + 1 < m) Visit(g, u, depth + 1, childMask, j + 1, childSse);
        }
    }
}

/// <summary>
/// Shapley values of the interventional game, the values the interventional payout rules split the charge by.
/// Valued by the market's G = 1 - RMSE / range (or R^2, clipped to [0, 1]) the game is a function of a quadratic in the
/// coalition through a square root and a clip, and its Shapley values have no closed form: exact over all 2^M
/// coalitions (M &lt;= 24, O(M) per coalition) or Monte Carlo with PD_A*'s permutation machinery and (eps, delta)
/// stopping rule. Valued by the squared error, v(S) = (R0 - SSE(S)) / R0 (Falconer et al.'s loss; an affine function
/// of unclipped R^2, so the same shares), it is a quadratic set function
/// v(S) = sum_{i in S} a_i + sum_{i &lt; j in S} b_ij, whose Shapley value is phi_i = a_i + (1/2) sum_{j != i} b_ij
/// (each pair's interaction split equally): exact in O(M^2) for any M (<see cref="SquaredError"/>).
/// </summary>
public static class InterventionalShapley
{
    /// <summary>Exact Shapley values of the game valued by G, over all 2^M coalitions (M &lt;= 24).</summary>
    public static ShapleyEstimate Exact(TaskGains gains, double noiseScale)
    {
        var game = new InterventionalGame(gains.System(noiseScale));
        var m = game.Sellers;
        if (m > Shapley.MaxExactSellers)
            throw new ArgumentOutOfRangeException(nameof(gains), m, $"exact interventional Shapley takes at most {Shapley.MaxExactSellers} sellers.");
        return new ShapleyEstimate(Shapley.FromGains(game.GainTable(), m), 0);
    }

    /// <summary>K random permutations of the game valued by G (one stream of the seed, as PD_A*).</summary>
    public static ShapleyEstimate MonteCarlo(TaskGains gains, double noiseScale, int permutations, ulong seed)
        => Shapley.MonteCarloOf(new InterventionalGame(gains.System(noiseScale)), permutations, seed);

    /// <summary>Permutations of the game valued by G until every estimate is within eps w.p. 1 - delta (capped at Thm 5.3's K).</summary>
    public static ShapleyEstimate UntilAccurate(TaskGains gains, double noiseScale, ShapleyAccuracy accuracy, ulong seed)
        => Shapley.UntilAccurateOf(new InterventionalGame(gains.System(noiseScale)), accuracy, seed);

    /// <summary>
    /// phi_i = beta_i (2 q - Q beta)_i / R0, the Shapley values of v(S) = (R0 - SSE(S)) / R0. From
    /// SSE(S) = R0 - sum_{i in S} (2 beta_i q_i - beta_i^2 Q_ii) + sum_{i != j in S} beta_i beta_j Q_ij:
    /// a_i = (2 beta_i q_i - beta_i^2 Q_ii) / R0 and b_ij = -2 beta_i beta_j Q_ij / R0. They sum to
    /// v(all) = 1 - SSE(all) / R0 (efficiency). A seller split into identical copies splits beta_i among them, and
    /// with it phi_i. All zero when the held-out Y equals the training mean throughout (R0 = 0).
    /// </summary>
    public static ShapleyEstimate SquaredError(TaskGains gains, double noiseScale)
    {
        var game = new InterventionalGame(gains.System(noiseScale));
        var sys = game.System;
        var m = sys.Sellers;
        var beta = game.Beta;
        var phi = new double[m];
        if (!(sys.R0 > 0)) return new ShapleyEstimate(phi, 0);
        for (var i = 0; i < m; i++)
        {
            if (beta[i] == 0.0) continue;
            var qBeta = Kernels.Dot(sys.Q.AsSpan(i * m, m), beta);
            phi[i] = beta[i] * (2.0 * sys.Qv[i] - qBeta) / sys.R0;
        }
        return new ShapleyEstimate(phi, 0);
    }
}
