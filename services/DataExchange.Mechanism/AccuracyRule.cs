namespace DataExchange.Mechanism;

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
