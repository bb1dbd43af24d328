namespace DataExchange.Mechanism;

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
        return new SampledLevel(own.Centred, own.TrainMeans, own.TrainGram, own.TestGram);
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
