namespace DataExchange.Mechanism;

/// <summary>AF* (Ex. 4.1): how good a copy of the sellers' features a task gets for its bid.</summary>
public static class Allocation
{
    /// <summary>AF*'s noise level max(0, p - b) * sigma (the market delivers at least this much: TaskGains.AllocatedNoise).</summary>
    public static double NoiseScale(double price, double bid, double sigma) => Math.Max(0.0, price - bid) * sigma;

    /// <summary>X~_m = X_m + s E_m, materialised (the Gram path never needs it; predictions and checks do).</summary>
    public static double[][] Allocate(FeatureSet sellers, NoiseMatrix noise, double noiseScale)
    {
        var rows = new double[sellers.Sellers][];
        for (var m = 0; m < rows.Length; m++)
        {
            var x = sellers.Row(m);
            var e = noise.Row(m);
            var r = new double[x.Length];
            for (var t = 0; t < r.Length; t++) r[t] = x[t] + noiseScale * e[t];
            rows[m] = r;
        }
        return rows;
    }
}
