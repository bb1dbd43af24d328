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
    private readonly GainSystem _system;
    private readonly double[] _coefficients;                // beta: the full fit's, on the standardised features
    private readonly double[] _testGramTimesCoefficients;   // u = Q_{., S} beta_S of the current coalition S
    private double _sse;

    public InterventionalGame(GainSystem system)
    {
        _system = system;
        var walker = new CoalitionWalker(system);
        for (var j = 0; j < system.Sellers; j++) walker.Push(j);
        _coefficients = walker.StandardisedCoefficients();
        _testGramTimesCoefficients = new double[system.Sellers];
        Reset();
    }

    private InterventionalGame(GainSystem system, double[] coefficients)
    {
        _system = system;
        _coefficients = coefficients;
        _testGramTimesCoefficients = new double[system.Sellers];
        Reset();
    }

    /// <summary>Shares the full fit's coefficients (read only), so the fork does not refit.</summary>
    public ICoalitionGame Fork() => new InterventionalGame(_system, _coefficients);

    public GainSystem System => _system;

    /// <summary>The full fit's coefficients on the standardised features (0 for a feature the fit left out).</summary>
    public ReadOnlySpan<double> Coefficients => _coefficients;

    public int Sellers => _system.Sellers;

    public double EmptyGain => _system.EmptyGain;

    public void Reset()
    {
        Array.Clear(_testGramTimesCoefficients);
        _sse = _system.EmptySse;
    }

    public double Join(int j, double previous)
    {
        var b = _coefficients[j];
        if (b == 0.0) return _system.GainFromSse(_sse);
        var m = _system.Sellers;
        _sse += b * (b * _system.TestGram[j * m + j] + 2.0 * _testGramTimesCoefficients[j] - 2.0 * _system.TestTargetProducts[j]);
        var testGramRow = _system.TestGram.AsSpan(j * m, m);
        for (var k = 0; k < m; k++) _testGramTimesCoefficients[k] += b * testGramRow[k];
        return _system.GainFromSse(_sse);
    }

    /// <summary>v(S) for every coalition (bit mask), depth first: each child extends its parent's u by one row of Q.</summary>
    public double[] GainTable()
    {
        var m = _system.Sellers;
        var g = new double[1 << m];
        g[0] = _system.EmptyGain;
        // u per depth; a child only ever reads u at indices above the seller it added, so only those are updated.
        var u = new double[m + 1][];
        for (var d = 0; d <= m; d++) u[d] = new double[m];
        Visit(g, u, 0, 0, 0, _system.EmptySse);
        return g;
    }

    private void Visit(double[] g, double[][] u, int depth, int mask, int next, double sse)
    {
        var m = _system.Sellers;
        var q = _system.TestGram;
        var parent = u[depth];
        var child = u[depth + 1];
        for (var j = next; j < m; j++)
        {
            var b = _coefficients[j];
            var childSse = sse;
            if (b != 0.0)
            {
                childSse += b * (b * q[j * m + j] + 2.0 * parent[j] - 2.0 * _system.TestTargetProducts[j]);
                for (var k = j + 1; k < m; k++) child[k] = parent[k] + b * q[j * m + k];
            }
            else
            {
                for (var k = j + 1; k < m; k++) child[k] = parent[k];
            }
            var childMask = mask | (1 << j);
            g[childMask] = _system.GainFromSse(childSse);
            if (j + 1 < m) Visit(g, u, depth + 1, childMask, j + 1, childSse);
        }
    }
}
