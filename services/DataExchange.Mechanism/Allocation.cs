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

/// <summary>
/// The gain G of one task as a function of price and bid, and what follows from it: the buyer's gain G~(b) (ironed),
/// Myerson's revenue RF* (Eq. 3), the counterfactual revenue curve over the price grid that PF* learns from,
/// and the buyer's predictions. All from one set of task moments and one noise matrix.
/// Not thread-safe: it reuses scratch buffers across calls (one instance per task and thread).
/// </summary>
public sealed class TaskGains
{
    private readonly TaskMoments _moments;
    private readonly MarketParameters _parameters;
    private readonly Dictionary<double, double> _gainAtNoise = new();
    private GainSystem? _exactSystem;
    private CoalitionWalker? _exactWalker;
    private CoalitionWalker? _scratchWalker;

    public TaskGains(TaskMoments moments, MarketParameters parameters)
    {
        _moments = moments;
        _parameters = parameters;
    }

    public TaskMoments Moments => _moments;
    public MarketParameters Parameters => _parameters;

    /// <summary>
    /// The allocation at price p, ironed so the gain is non-decreasing in the bid (see <see cref="IronedGain"/>):
    /// AF*'s raw gain at <see cref="MarketParameters.IntegralPoints"/> step bids, each cached per noise level.
    /// </summary>
    public IronedGain Ironed(double price) =>
        IronedGain.Create(z => GainAtNoise(Allocation.NoiseScale(price, z, _parameters.NoiseSigma)), price, _parameters.IntegralPoints);

    /// <summary>The noise level of the copy delivered at bid b: at least AF*'s max(0, p - b) sigma, never less.</summary>
    public double AllocatedNoise(double price, double bid) =>
        price == 0 ? 0.0 : Allocation.NoiseScale(price, Ironed(price).DeliveredBid(bid), _parameters.NoiseSigma);

    /// <summary>G~(b) at price p: the gain of the copy delivered at bid b, non-decreasing in b.</summary>
    public double Gain(double price, double bid) => GainAtNoise(AllocatedNoise(price, bid));

    /// <summary>Gain of the model on all features at noise level s (cached per level within the task).</summary>
    public double GainAtNoise(double noiseScale)
    {
        if (_gainAtNoise.TryGetValue(noiseScale, out var g)) return g;
        CoalitionWalker walker;
        if (noiseScale == 0.0)
        {
            walker = _exactWalker ??= new CoalitionWalker(System(0.0));
        }
        else
        {
            // One scratch system refilled per level: the revenue curve visits a few hundred levels per task.
            if (_scratchWalker is null) _scratchWalker = new CoalitionWalker(GainSystem.Build(_moments, noiseScale, _parameters));
            else _scratchWalker.System.Rebuild(noiseScale);
            walker = _scratchWalker;
        }
        walker.Reset();
        for (var j = 0; j < _moments.Sellers; j++) walker.Push(j);
        g = walker.Gain();
        _gainAtNoise[noiseScale] = g;
        return g;
    }

    /// <summary>The system at noise level s, for the caller's own use (never the scratch one).</summary>
    internal GainSystem System(double noiseScale)
    {
        if (noiseScale == 0.0) return _exactSystem ??= GainSystem.Build(_moments, 0.0, _parameters);
        return GainSystem.Build(_moments, noiseScale, _parameters);
    }

    /// <summary>
    /// RF*(p, b, Y) (Myerson, Eq. 3) of the ironed allocation: G(z) is the gain at price p for bid z on this task's
    /// one noise matrix (common random numbers), fitted once per step bid on the buyer's Y.
    /// </summary>
    public double Revenue(double price, double bid) =>
        !(bid > 0) || !(price > 0) ? 0.0 : Ironed(price).Revenue(bid);

    /// <summary>RF*(c, b, Y) for every grid price c: what each expert of PF* would have earned on this task.</summary>
    public double[] RevenueCurve(PriceGrid grid, double bid)
    {
        var curve = new double[grid.Count];
        for (var c = 0; c < curve.Length; c++) curve[c] = Revenue(grid.Prices[c], bid);
        return curve;
    }

    /// <summary>
    /// The buyer's predictions of Y on the held-out steps [split, T), from the model fitted on the features allocated
    /// at the buyer's bid (the ironed copy). This, not the features, is what the buyer receives (paper, Remark 2.4).
    /// </summary>
    public double[] Predictions(FeatureSet sellers, NoiseMatrix noise, double price, double bid)
    {
        var s = AllocatedNoise(price, bid);
        var walker = new CoalitionWalker(System(s));
        for (var j = 0; j < _moments.Sellers; j++) walker.Push(j);
        var w = walker.Coefficients();
        var split = _moments.TrainSize;
        var result = new double[_moments.TestSize];
        for (var t = 0; t < result.Length; t++) result[t] = _moments.TrainYMean;
        for (var m = 0; m < w.Length; m++)
        {
            if (w[m] == 0.0) continue;
            var x = sellers.Row(m);
            var e = noise.Row(m);
            var mean = _moments.TrainMeanX[m] + s * _moments.TrainMeanE[m];
            for (var t = 0; t < result.Length; t++)
                result[t] += w[m] * (x[split + t] + s * e[split + t] - mean);
        }
        return result;
    }
}
