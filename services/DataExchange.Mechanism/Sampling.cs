namespace DataExchange.Mechanism;

/// <summary>
/// AF* by sampling (Ex. 4.2): at price p and bid b each observation X_m(t) is kept with probability q = min(1, b / p) and
/// masked otherwise. The mask comes from one uniform U_m(t) in [0, 1) per observation, drawn once per task from its noise
/// seed: at masked fraction d = 1 - q the observation is kept iff U_m(t) &gt;= d. So the mask is common across bids and
/// prices (common random numbers, as E is for noise) and a higher bid keeps a superset of what a lower one keeps.
/// <para>
/// Masked values: each masked observation is replaced by the mean of the seller's kept observations on the training part
/// (mean imputation), the same on the held-out part. After centring, a masked step is 0: it adds nothing to the fit's
/// sums, and the model (ridge with intercept on standardised features, as for noise) learns only from what was kept; a
/// seller with fewer than two kept training observations is a constant and gets no coefficient. At d = 1 (bid 0) nothing
/// is kept and G is the empty coalition's.
/// </para>
/// </summary>
public static class Sampling
{
    /// <summary>The fraction masked at price p for bid b: 1 - min(1, b / p) = max(0, (p - b) / p); 0 at p = 0.</summary>
    public static double MaskedFraction(double price, double bid) => price > 0 ? Math.Max(0.0, (price - bid) / price) : 0.0;

    /// <summary>The task's uniforms U_m(t), row m for seller m, from the noise seed.</summary>
    public static double[][] Uniforms(int sellers, int steps, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sellers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        var rng = new SeededRandom(seed);
        var rows = new double[sellers][];
        for (var m = 0; m < sellers; m++)
        {
            rows[m] = new double[steps];
            for (var t = 0; t < steps; t++) rows[m][t] = rng.NextDouble();
        }
        return rows;
    }

    /// <summary>Which observations are kept at masked fraction d: U_m(t) &gt;= d.</summary>
    public static bool[][] Kept(int sellers, int steps, ulong noiseSeed, double maskedFraction) =>
        Uniforms(sellers, steps, noiseSeed).Select(u => u.Select(v => v >= maskedFraction).ToArray()).ToArray();

    /// <summary>The features as allocated at masked fraction d, materialised: kept observations as they are, masked ones the kept training mean.</summary>
    public static double[][] Allocate(FeatureSet sellers, ulong noiseSeed, double maskedFraction, double trainFraction)
    {
        var copies = new SampledCopies(sellers, noiseSeed, TaskMoments.TrainLength(sellers.Steps, trainFraction));
        var mean = copies.Level(maskedFraction).TrainMeans;
        var kept = Kept(sellers.Sellers, sellers.Steps, noiseSeed, maskedFraction);
        var rows = new double[sellers.Sellers][];
        for (var m = 0; m < rows.Length; m++)
        {
            var x = sellers.Row(m);
            rows[m] = new double[x.Length];
            for (var t = 0; t < x.Length; t++) rows[m][t] = kept[m][t] ? x[t] : mean[m];
        }
        return rows;
    }
}
