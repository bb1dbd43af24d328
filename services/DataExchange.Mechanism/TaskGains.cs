namespace DataExchange.Mechanism;

/// <summary>
/// The gain G of one task as a function of price and bid, and what follows from it: the buyer's gain G~(b) (ironed),
/// Myerson's revenue RF* (Eq. 3), the counterfactual revenue curve over the price grid that PF* learns from,
/// and the buyer's predictions. All from one task's moments and its one draw of randomness (the noise matrix E, or for
/// sampling the mask's uniforms).
/// The allocation's level: the noise level s = max(0, p - b) sigma for noise (Ex. 4.1), the masked fraction
/// 1 - min(1, b / p) for sampling (Ex. 4.2); 0 is the exact features either way. Methods named "Noise" take and return
/// that level.
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
    // The other settings (null on the regression-by-noise path, which stays as it was).
    private readonly FeatureSet? _sellers;
    private readonly NoiseMatrix? _noise;
    private readonly SampledCopies? _sampled;
    private readonly TargetMoments? _target;
    private readonly ClassLabels? _classes;
    private readonly Dictionary<int, double>? _gainAtMask;

    /// <summary>A regression task with noise allocation (Ex. 4.1); <see cref="MarketTask.Gains"/> builds any setting.</summary>
    public TaskGains(TaskMoments moments, MarketParameters parameters)
    {
        if (parameters.Allocation != AllocationKind.Noise || parameters.TaskKind != TaskKind.Regression)
            throw new ArgumentException("this constructor is for regression with noise allocation; use MarketTask.Gains for the others.", nameof(parameters));
        _moments = moments;
        _parameters = parameters;
    }

    private TaskGains(TaskMoments moments, MarketParameters parameters, FeatureSet sellers, NoiseMatrix? noise, SampledCopies? sampled,
        TargetMoments? target, ClassLabels? classes)
    {
        _moments = moments;
        _parameters = parameters;
        _sellers = sellers;
        _noise = noise;
        _sampled = sampled;
        _target = target;
        _classes = classes;
        if (sampled is not null) _gainAtMask = new Dictionary<int, double>();
    }

    /// <summary>The task's gains under the market's allocation and task kind, from its noise seed (E, or the mask's uniforms).</summary>
    internal static TaskGains Create(FeatureSet sellers, ReadOnlySpan<double> target, ulong noiseSeed, MarketParameters parameters)
    {
        if (parameters.Allocation == AllocationKind.Noise && parameters.TaskKind == TaskKind.Regression)
        {
            var noise = NoiseMatrix.Draw(sellers.Sellers, sellers.Steps, noiseSeed, ParallelWork.Threads(parameters, sellers.Sellers));
            return new TaskGains(TaskMoments.Compute(sellers, target, noise, parameters), parameters, sellers, noise, null, null, null);
        }
        var nTrain = TaskMoments.TrainLength(sellers.Steps, parameters.TrainFraction);
        // Labels first, so that a bad label is named as one (NaN: "not a class label"); a target of the wrong length is
        // left to the moments, which name it.
        var classes = parameters.TaskKind == TaskKind.Classification && target.Length == sellers.Steps ? new ClassLabels(target, nTrain) : null;
        if (parameters.Allocation == AllocationKind.Noise)
        {
            var noise = NoiseMatrix.Draw(sellers.Sellers, sellers.Steps, noiseSeed, ParallelWork.Threads(parameters, sellers.Sellers));
            return new TaskGains(TaskMoments.Compute(sellers, target, noise, parameters), parameters, sellers, noise, null, null, classes);
        }
        var y = TargetMoments.Compute(target, sellers.Steps, parameters.TrainFraction);
        var sampled = new SampledCopies(sellers, noiseSeed, nTrain);
        return new TaskGains(sampled.Level(0.0).Moments(y), parameters, sellers, null, sampled, y, classes);
    }

    public TaskMoments Moments => _moments;
    public MarketParameters Parameters => _parameters;

    /// <summary>AF*'s raw level at price p for bid b: the noise level max(0, p - b) sigma, or the masked fraction 1 - min(1, b / p).</summary>
    public double Level(double price, double bid) => _sampled is null
        ? Allocation.NoiseScale(price, bid, _parameters.NoiseSigma)
        : Sampling.MaskedFraction(price, bid);

    /// <summary>
    /// The allocation at price p, ironed so the gain is non-decreasing in the bid (see <see cref="IronedGain"/>):
    /// AF*'s raw gain at <see cref="MarketParameters.IntegralPoints"/> step bids, each cached per level.
    /// </summary>
    public IronedGain Ironed(double price) =>
        IronedGain.Create(z => GainAtNoise(Level(price, z)), price, _parameters.IntegralPoints);

    /// <summary>The level of the copy delivered at bid b: at least AF*'s (as noisy, as much masked), never less.</summary>
    public double AllocatedNoise(double price, double bid) =>
        price == 0 ? 0.0 : Level(price, Ironed(price).DeliveredBid(bid));

    /// <summary>G~(b) at price p: the gain of the copy delivered at bid b, non-decreasing in b.</summary>
    public double Gain(double price, double bid) => GainAtNoise(AllocatedNoise(price, bid));

    /// <summary>Gain of the model on all features at level s (cached per level within the task; per mask for sampling).</summary>
    public double GainAtNoise(double noiseScale)
    {
        if (_sampled is not null)
        {
            // Levels that differ only in rounding (1 - k/K at different prices) give the same mask: one fit per mask.
            var mask = _sampled.MaskedCount(noiseScale);
            if (_gainAtMask!.TryGetValue(mask, out var gm)) return gm;
            gm = FullCoalitionGain(noiseScale);
            _gainAtMask[mask] = gm;
            return gm;
        }
        if (_gainAtNoise.TryGetValue(noiseScale, out var g)) return g;
        if (_classes is not null)
        {
            g = FullCoalitionGain(noiseScale);
            _gainAtNoise[noiseScale] = g;
            return g;
        }
        g = noiseScale == 0.0 ? FullCoalitionGains.Of(_exactWalker ??= new CoalitionWalker(System(0.0)))
            : FullCoalitionGains.At(_moments, _parameters, ref _scratchWalker, noiseScale);
        _gainAtNoise[noiseScale] = g;
        return g;
    }

    /// <summary>
    /// Regression by noise at M &gt;= <see cref="ParallelWork.MinSellers"/>: the gains at every level the revenue curve will
    /// ask for (about 300 at the default grid), computed on several threads and cached; the curve then reads them in its order.
    /// </summary>
    private void PrefillLevels(PriceGrid grid, double bid)
    {
        var threads = ParallelWork.Threads(_parameters, _moments.Sellers);
        if (threads <= 1 || _sampled is not null || _classes is not null || !(bid > 0)) return;
        var levels = new List<double>();
        var seen = new HashSet<double>(_gainAtNoise.Keys) { 0.0 };
        var steps = _parameters.IntegralPoints - 1;
        foreach (var price in grid.Prices.Where(p => p > 0))
            for (var k = 0; k <= steps; k++)
                if (Level(price, IronedGain.StepBid(price, k, steps)) is var level && seen.Add(level)) levels.Add(level);
        var gains = FullCoalitionGains.At(_moments, _parameters, levels, threads);
        for (var i = 0; i < gains.Length; i++) _gainAtNoise[levels[i]] = gains[i];
    }

    private double FullCoalitionGain(double level)
    {
        if (_classes is not null) return Classifier(level).FullGain();
        var game = Game(level);
        for (var j = 0; j < _moments.Sellers; j++) game.Push(j);
        return game.Gain();
    }

    private NoiseParts? _noiseParts;

    /// <summary>The classifier's system at level s (noise: from the task's parts, O(C M + M nTest); sampling: from the mask's rows).</summary>
    private ClassifierSystem Classifier(double level) => _sampled is null
        ? ClassifierSystem.Build(System(level), _noiseParts ??= new NoiseParts(_sellers!, _noise!, _moments, _classes!), level, _classes!)
        : ClassifierSystem.Build(System(level), _sampled.Level(level).Centred, _classes!);

    /// <summary>The regression's system at level s, for the caller's own use (never the scratch one).</summary>
    internal GainSystem System(double noiseScale)
    {
        if (_sampled is not null)
        {
            var moments = _sampled.Level(noiseScale).Moments(_target!);
            return noiseScale == 0.0 ? _exactSystem ??= GainSystem.Build(moments, 0.0, _parameters) : GainSystem.Build(moments, 0.0, _parameters);
        }
        if (noiseScale == 0.0) return _exactSystem ??= GainSystem.Build(_moments, 0.0, _parameters);
        return GainSystem.Build(_moments, noiseScale, _parameters);
    }

    /// <summary>The game PD_A* walks at level s: the regression's refitting walker, or the classifier's.</summary>
    internal IGrowingCoalition Game(double noiseScale) => _classes is null
        ? new CoalitionWalker(System(noiseScale))
        : new ClassifierWalker(Classifier(noiseScale));

    /// <summary>
    /// RF*(p, b, Y) (Myerson, Eq. 3) of the ironed allocation: G(z) is the gain at price p for bid z on this task's
    /// one draw of randomness (common random numbers), fitted once per step bid on the buyer's Y.
    /// </summary>
    public double Revenue(double price, double bid) =>
        !(bid > 0) || !(price > 0) ? 0.0 : Ironed(price).Revenue(bid);

    /// <summary>RF*(c, b, Y) for every grid price c: what each expert of PF* would have earned on this task.</summary>
    public double[] RevenueCurve(PriceGrid grid, double bid)
    {
        PrefillLevels(grid, bid);
        var curve = new double[grid.Count];
        for (var c = 0; c < curve.Length; c++) curve[c] = Revenue(grid.Prices[c], bid);
        return curve;
    }

    /// <summary>
    /// The buyer's predictions on the held-out steps [split, T) from the model fitted on the copy delivered at the
    /// buyer's bid: values of Y, or for a classification task the predicted class labels. This, not the features, is
    /// what the buyer receives (paper, Remark 2.4).
    /// </summary>
    public double[] Predictions(double price, double bid)
    {
        if (_classes is null && _sampled is null)
            return _sellers is null || _noise is null
                ? throw new InvalidOperationException("these gains were built from moments alone: pass the features and the noise matrix, or build them with MarketTask.Gains.")
                : Predictions(_sellers, _noise, price, bid);
        var s = AllocatedNoise(price, bid);
        var split = _moments.TrainSize;
        var result = new double[_moments.TestSize];
        if (_classes is { } classes)
        {
            var walker = new ClassifierWalker(Classifier(s));
            for (var j = 0; j < _moments.Sellers; j++) walker.Push(j);
            for (var t = 0; t < result.Length; t++) result[t] = classes.Classes[walker.Predicted(t)];
            return result;
        }
        var fit = new CoalitionWalker(System(s));
        for (var j = 0; j < _moments.Sellers; j++) fit.Push(j);
        var w = fit.Coefficients();
        // Regression by sampling: the delivered mask's centred rows.
        var rows = _sampled!.Level(s).Centred;
        for (var t = 0; t < result.Length; t++) result[t] = _moments.TrainTargetMean;
        for (var m = 0; m < w.Length; m++)
        {
            if (w[m] == 0.0) continue;
            var f = rows[m];
            for (var t = 0; t < result.Length; t++) result[t] += w[m] * f[split + t];
        }
        return result;
    }

    /// <summary>
    /// The buyer's predictions of Y on the held-out steps [split, T), from the model fitted on the features allocated
    /// at the buyer's bid (the ironed copy), for a regression task with noise allocation.
    /// </summary>
    public double[] Predictions(FeatureSet sellers, NoiseMatrix noise, double price, double bid)
    {
        if (_classes is not null || _sampled is not null) return Predictions(price, bid);
        var s = AllocatedNoise(price, bid);
        var walker = new CoalitionWalker(System(s));
        for (var j = 0; j < _moments.Sellers; j++) walker.Push(j);
        var w = walker.Coefficients();
        var split = _moments.TrainSize;
        var result = new double[_moments.TestSize];
        for (var t = 0; t < result.Length; t++) result[t] = _moments.TrainTargetMean;
        for (var m = 0; m < w.Length; m++)
        {
            if (w[m] == 0.0) continue;
            var x = sellers.Row(m);
            var e = noise.Row(m);
            var mean = _moments.TrainSellerMeans[m] + s * _moments.TrainNoiseMeans[m];
            for (var t = 0; t < result.Length; t++)
                result[t] += w[m] * (x[split + t] + s * e[split + t] - mean);
        }
        return result;
    }
}
