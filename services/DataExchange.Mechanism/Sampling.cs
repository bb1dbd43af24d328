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
        var mean = copies.Level(maskedFraction).Mean;
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

/// <summary>
/// The copies of one task's features under sampling, by masked fraction: each distinct mask's centred rows and Gram blocks
/// computed once (the revenue curve's step bids p k / K give the same K + 1 fractions k / K at every price, so a task
/// computes about K + 1 masks). Keyed by how many uniforms lie below d, which is what decides the mask.
/// </summary>
internal sealed class SampledCopies
{
    private readonly FeatureSet _sellers;
    private readonly double[][] _uniforms;
    private readonly double[] _sorted;
    private readonly int _nTrain;
    private readonly Dictionary<int, SampledLevel> _levels = new();

    public SampledCopies(FeatureSet sellers, ulong noiseSeed, int trainLength)
    {
        _sellers = sellers;
        _nTrain = trainLength;
        _uniforms = Sampling.Uniforms(sellers.Sellers, sellers.Steps, noiseSeed);
        _sorted = _uniforms.SelectMany(r => r).ToArray();
        Array.Sort(_sorted);
    }

    /// <summary>How many observations are masked at fraction d (those with U &lt; d): the cache key of a mask.</summary>
    public int MaskedCount(double maskedFraction)
    {
        int lo = 0, hi = _sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_sorted[mid] < maskedFraction) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    public SampledLevel Level(double maskedFraction)
    {
        var key = MaskedCount(maskedFraction);
        if (_levels.TryGetValue(key, out var level)) return level;
        level = key == 0 ? Exact() : Masked(maskedFraction);
        _levels[key] = level;
        return level;
    }

    /// <summary>Nothing masked: the sellers' own centred series and Gram blocks, from the feature set's cache.</summary>
    private SampledLevel Exact()
    {
        var own = _sellers.Moments(_nTrain);
        return new SampledLevel(own.Centred, own.Mean, own.TrainXx, own.TestXx);
    }

    private SampledLevel Masked(double d)
    {
        var m = _sellers.Sellers;
        var steps = _sellers.Steps;
        var centred = new double[m][];
        var mean = new double[m];
        for (var i = 0; i < m; i++)
        {
            var x = _sellers.Row(i);
            var u = _uniforms[i];
            var sum = 0.0;
            var kept = 0;
            for (var t = 0; t < _nTrain; t++)
            {
                if (!(u[t] >= d)) continue;
                sum += x[t];
                kept++;
            }
            mean[i] = kept > 0 ? sum / kept : 0.0;
            var row = new double[steps];
            for (var t = 0; t < steps; t++) row[t] = u[t] >= d ? x[t] - mean[i] : 0.0;
            centred[i] = row;
        }
        return new SampledLevel(centred, mean, GramBlocks.Symmetric(centred, 0, _nTrain), GramBlocks.Symmetric(centred, _nTrain, steps - _nTrain));
    }
}

/// <summary>One mask's allocated features: centred rows (masked steps 0), the kept training means, X X' over each part.</summary>
internal sealed class SampledLevel(double[][] centred, double[] mean, double[] trainXx, double[] testXx)
{
    private TaskMoments? _moments;

    public double[][] Centred { get; } = centred;
    public double[] Mean { get; } = mean;
    public double[] TrainXx { get; } = trainXx;
    public double[] TestXx { get; } = testXx;

    /// <summary>The task's moments for this mask, in the noise path's form with s = 0 (no E): GainSystem.Build(moments, 0) fits on it.</summary>
    public TaskMoments Moments(TargetMoments y)
    {
        if (_moments is { } cached) return cached;
        var m = Centred.Length;
        var zeros = new double[m * m];
        var zeroVector = new double[m];
        GramBlocks Part(int start, int length, double[] xx)
        {
            var xy = new double[m];
            for (var i = 0; i < m; i++) xy[i] = Kernels.Dot(Centred[i].AsSpan(start, length), y.Centred.AsSpan(start, length));
            return new GramBlocks { Xx = xx, Cross = zeros, Ee = zeros, Xy = xy, Ey = zeroVector };
        }
        return _moments = new TaskMoments(m, y.TrainSize, y.TestSize, Part(0, y.TrainSize, TrainXx), Part(y.TrainSize, y.TestSize, TestXx),
            y.TestYy, y.TestYSum, y.TestRange, y.TrainMean, Mean, zeroVector);
    }
}

/// <summary>
/// The buyer's target as TaskMoments uses it (validated the same way): centred by its training mean, and the held-out
/// sums G needs. For the allocations that have no noise matrix.
/// </summary>
internal sealed class TargetMoments
{
    public required int TrainSize { get; init; }
    public required int TestSize { get; init; }
    public required double[] Centred { get; init; }
    public required double TrainMean { get; init; }
    public required double TestYy { get; init; }
    public required double TestYSum { get; init; }
    public required double TestRange { get; init; }

    public static TargetMoments Compute(ReadOnlySpan<double> target, int steps, double trainFraction)
    {
        if (target.Length != steps)
            throw new ArgumentException($"target has {target.Length} values, expected {steps} (the sellers' series length).", nameof(target));
        for (var t = 0; t < steps; t++)
            if (!double.IsFinite(target[t]))
                throw new ArgumentException($"target[{t}] is {target[t]}, not a finite number.", nameof(target));
        var nTrain = TaskMoments.TrainLength(steps, trainFraction);
        var nTest = steps - nTrain;
        if (nTrain < 2 || nTest < 2)
            throw new ArgumentException($"target has {steps} values: too short to train on {trainFraction:P0} and score on the rest (need at least 2 of each).", nameof(target));
        var yMean = Kernels.Mean(target[..nTrain]);
        var y = TaskMoments.Centre(target, yMean);
        var testY = y.AsSpan(nTrain);
        var testYSum = 0.0;
        foreach (var v in testY) testYSum += v;
        var max = double.NegativeInfinity;
        var min = double.PositiveInfinity;
        foreach (var v in target[nTrain..])
        {
            if (v > max) max = v;
            if (v < min) min = v;
        }
        return new TargetMoments
        {
            TrainSize = nTrain, TestSize = nTest, Centred = y, TrainMean = yMean, TestYy = Kernels.Dot(testY, testY),
            TestYSum = testYSum, TestRange = max - min,
        };
    }
}
