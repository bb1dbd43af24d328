namespace DataExchange.Mechanism;

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
        => Shapley.MonteCarloOf(new InterventionalGame(gains.System(noiseScale)), permutations, seed, threads: Shapley.Threads(gains));

    /// <summary>Permutations of the game valued by G until every estimate is within eps w.p. 1 - delta (capped at Thm 5.3's K).</summary>
    public static ShapleyEstimate UntilAccurate(TaskGains gains, double noiseScale, ShapleyAccuracy accuracy, ulong seed)
        => Shapley.UntilAccurateOf(new InterventionalGame(gains.System(noiseScale)), accuracy, seed, threads: Shapley.Threads(gains));

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
        var beta = game.Coefficients;
        var phi = new double[m];
        if (!(sys.EmptySse > 0)) return new ShapleyEstimate(phi, 0);
        for (var i = 0; i < m; i++)
        {
            if (beta[i] == 0.0) continue;
            var qBeta = Kernels.Dot(sys.TestGram.AsSpan(i * m, m), beta);
            phi[i] = beta[i] * (2.0 * sys.TestTargetProducts[i] - qBeta) / sys.EmptySse;
        }
        return new ShapleyEstimate(phi, 0);
    }
}
