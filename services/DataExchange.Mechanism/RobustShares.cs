namespace DataExchange.Mechanism;

/// <summary>PD_B* (Alg. 3, Thm 5.4): shares penalised by how much a seller's data resembles everyone else's.</summary>
public static class RobustShares
{
    /// <summary>
    /// SM(X_m, X_j) = |cos(X_m, X_j)| for every pair (Ex. 4.3), on rows normalised to unit length: a plain
    /// |X X'| grows with T and underflows the penalties. A constant-zero row is similar to nothing.
    /// With a <paramref name="threshold"/> tau &gt; 0 (the thresholded rule), SM'(X_m, X_j) = max(0, (|cos| - tau) / (1 - tau)):
    /// still 1 for an exact copy and for the seller itself, 0 for sellers less alike than tau.
    /// </summary>
    public static double[,] Similarity(FeatureSet sellers, double threshold = 0.0, SimilarityKind kind = SimilarityKind.Cosine)
        => Similarity(sellers, threshold, kind, 1);

    /// <summary>The same on up to <paramref name="threads"/> threads (a row of pairs each; every entry is the same bits).</summary>
    internal static double[,] Similarity(FeatureSet sellers, double threshold, SimilarityKind kind, int threads)
    {
        if (!(threshold >= 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must lie in [0, 1).");
        if (kind == SimilarityKind.Hellinger) return HellingerSimilarity(sellers, threshold);
        var m = sellers.Sellers;
        var norms = new double[m];
        for (var i = 0; i < m; i++) norms[i] = Math.Sqrt(Kernels.Dot(sellers.Row(i), sellers.Row(i)));
        var sim = new double[m, m];
        ParallelWork.For(m, threads, (i, _) =>
        {
            sim[i, i] = 1.0;
            for (var j = i + 1; j < m; j++)
            {
                var denominator = norms[i] * norms[j];
                var c = denominator > 0 ? Math.Min(1.0, Math.Abs(Kernels.Dot(sellers.Row(i), sellers.Row(j))) / denominator) : 0.0;
                if (threshold > 0) c = Math.Max(0.0, (c - threshold) / (1.0 - threshold));
                sim[i, j] = sim[j, i] = c;
            }
        });
        return sim;
    }

    /// <summary>
    /// SM(X_m, X_j) = 1 - H(P_m, P_j) (Ex. 4.4), H the Hellinger distance between the sellers' empirical distributions,
    /// each fitted by a Gaussian N(mu, sigma^2) with the series' mean and population variance (no binning to choose, and
    /// closed form): H^2 = 1 - BC, BC = sqrt(2 s_m s_j / (s_m^2 + s_j^2)) exp(-(mu_m - mu_j)^2 / (4 (s_m^2 + s_j^2))).
    /// An exact copy scores 1, as under cosine, so PD_B*'s known answers and Thm 5.4 carry over; unlike cosine it also
    /// scores sellers whose values are merely distributed alike (the order in time does not matter). A constant series
    /// is a point mass: 1 against the same constant, 0 against anything else. The threshold works as for cosine.
    /// </summary>
    public static double[,] HellingerSimilarity(FeatureSet sellers, double threshold = 0.0)
    {
        if (!(threshold >= 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must lie in [0, 1).");
        var m = sellers.Sellers;
        var mean = new double[m];
        var variance = new double[m];
        for (var i = 0; i < m; i++)
        {
            var row = sellers.Row(i);
            mean[i] = Kernels.Mean(row);
            var ss = 0.0;
            foreach (var v in row) ss += (v - mean[i]) * (v - mean[i]);
            variance[i] = ss / row.Length;
        }
        var sim = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            sim[i, i] = 1.0;
            for (var j = i + 1; j < m; j++)
            {
                double bc;
                if (variance[i] <= 0 && variance[j] <= 0) bc = mean[i] == mean[j] ? 1.0 : 0.0;
                else if (variance[i] <= 0 || variance[j] <= 0) bc = 0.0;
                else
                {
                    // From the standard deviations, so that equal ones give exactly 2 s s / (s s + s s) = 1: H = sqrt(1 - BC)
                    // magnifies any rounding in BC (1e-16 in BC is 1e-8 in SM), and a copy must score exactly 1.
                    var (si, sj) = (Math.Sqrt(variance[i]), Math.Sqrt(variance[j]));
                    var sum = si * si + sj * sj;
                    var d = mean[i] - mean[j];
                    bc = Math.Sqrt(2.0 * si * sj / sum) * Math.Exp(-d * d / (4.0 * sum));
                }
                var c = 1.0 - Math.Sqrt(Math.Max(0.0, 1.0 - Math.Min(1.0, bc)));
                if (threshold > 0) c = Math.Max(0.0, (c - threshold) / (1.0 - threshold));
                sim[i, j] = sim[j, i] = c;
            }
        }
        return sim;
    }

    /// <summary>
    /// psi_B(m) = psi(m) exp(-lambda sum_{j != m} SM(X_m, X_j)). Not renormalised (the paper's Alg. 3): the part
    /// withheld stays with the market. Renormalising restores balance but loses replication robustness
    /// (Prop. 5.1), so it is only an option (<paramref name="renormalise"/>, the renormalised payout rule).
    /// </summary>
    public static double[] Apply(IReadOnlyList<double> shares, double[,] similarity, double lambda, bool renormalise = false)
    {
        var m = shares.Count;
        if (similarity.GetLength(0) != m || similarity.GetLength(1) != m)
            throw new ArgumentException($"similarity must be {m}x{m}.", nameof(similarity));
        var result = new double[m];
        for (var i = 0; i < m; i++)
        {
            var total = 0.0;
            for (var j = 0; j < m; j++)
                if (j != i) total += similarity[i, j];
            result[i] = shares[i] * Math.Exp(-lambda * total);
        }
        if (renormalise)
        {
            var sum = result.Sum();
            if (sum > 0)
                for (var i = 0; i < m; i++) result[i] /= sum;
        }
        return result;
    }
}
