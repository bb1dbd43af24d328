namespace DataExchange.Mechanism;

/// <summary>
/// The model's normal equations at one noise level s, in standardised coordinates (docs/mechanism.md, "The gain from Gram
/// blocks"): the training Gram A = D^-1 C D^-1 and the features' products with the target b = D^-1 c, the same two over
/// the held-out part (Q and q), and R0, the held-out sum of squares of the empty coalition (which predicts the training
/// mean). For a coalition S the ridge coefficients solve (A_SS + alpha I) beta = b_S and the held-out error is
/// SSE = R0 - 2 beta'q_S + beta'Q_SS beta.
/// Standardising each feature does not depend on which others are in S, so one system serves every coalition.
/// Mutable only through <see cref="Rebuild"/>, so a caller can reuse the buffers across noise levels.
/// </summary>
internal sealed class GainSystem
{
    private readonly TaskMoments _moments;
    private readonly int _testSize;
    private readonly double _range;
    private readonly double _ssTot;

    private GainSystem(TaskMoments moments, MarketParameters parameters)
    {
        _moments = moments;
        Sellers = moments.Sellers;
        var m = Sellers;
        TrainGram = new double[m * m];
        TestGram = new double[m * m];
        TrainTargetProducts = new double[m];
        TestTargetProducts = new double[m];
        InverseScale = new double[m];
        EmptySse = moments.TestTargetSquares;
        _testSize = moments.TestSize;
        _range = moments.TestTargetRange;
        _ssTot = moments.TestTargetSquares - moments.TestTargetSum * moments.TestTargetSum / moments.TestSize;
        Alpha = parameters.RidgeAlpha;
        Kind = parameters.Gain;
    }

    public int Sellers { get; }
    /// <summary>A (M x M, row-major): the standardised features' Gram matrix over the training part.</summary>
    public double[] TrainGram { get; }
    /// <summary>b: each standardised feature's product with the centred target over the training part.</summary>
    public double[] TrainTargetProducts { get; }
    /// <summary>Q: the standardised features' Gram matrix over the held-out part.</summary>
    public double[] TestGram { get; }
    /// <summary>q: each standardised feature's product with the centred target over the held-out part.</summary>
    public double[] TestTargetProducts { get; }
    /// <summary>1 / standard deviation of each allocated feature on the training part (0 for a constant one).</summary>
    public double[] InverseScale { get; }
    /// <summary>R0: the held-out sum of squared errors of the empty coalition, which predicts the training mean.</summary>
    public double EmptySse { get; }
    public double Alpha { get; }
    public GainKind Kind { get; }

    public static GainSystem Build(TaskMoments mo, double noiseScale, MarketParameters parameters)
    {
        var sys = new GainSystem(mo, parameters);
        sys.Rebuild(noiseScale);
        return sys;
    }

    /// <summary>Refills the system for noise level s.</summary>
    public void Rebuild(double noiseScale)
    {
        var mo = _moments;
        var m = Sellers;
        var s = noiseScale;
        var s2 = s * s;
        var tr = mo.Train;
        var te = mo.Test;
        var inv = InverseScale;
        for (var i = 0; i < m; i++)
        {
            var d = i * m + i;
            var variance = (tr.SellerGram[d] + s * tr.CrossGram[d] + s2 * tr.NoiseGram[d]) / mo.TrainSize;
            // A constant feature (zero variance, e.g. a seller whose series never moves) cannot be standardised;
            // like a standard scaler we leave it unscaled, and centred it is all zeros: it gets beta = 0.
            var scale = Math.Max(1.0, Math.Abs(mo.TrainSellerMeans[i]));
            inv[i] = variance > 1e-24 * scale * scale ? 1.0 / Math.Sqrt(variance) : 0.0;
        }
        var a = TrainGram;
        var q = TestGram;
        for (var i = 0; i < m; i++)
        {
            var row = i * m;
            var fi = inv[i];
            for (var j = 0; j <= i; j++)
            {
                var k = row + j;
                var f = fi * inv[j];
                var av = (tr.SellerGram[k] + s * tr.CrossGram[k] + s2 * tr.NoiseGram[k]) * f;
                var qv = (te.SellerGram[k] + s * te.CrossGram[k] + s2 * te.NoiseGram[k]) * f;
                a[k] = a[j * m + i] = av;
                q[k] = q[j * m + i] = qv;
            }
            TrainTargetProducts[i] = (tr.SellerTarget[i] + s * tr.NoiseTarget[i]) * fi;
            TestTargetProducts[i] = (te.SellerTarget[i] + s * te.NoiseTarget[i]) * fi;
        }
    }

    /// <summary>G from the held-out sum of squared errors: paper default 1 - RMSE / range, or R^2; clipped to [0, 1].</summary>
    public double GainFromSse(double sse)
    {
        sse = Math.Max(0.0, sse);
        double g;
        if (Kind == GainKind.RSquared)
            g = _ssTot > 0 ? 1.0 - sse / _ssTot : 0.0;
        else
            g = _range > 0 ? 1.0 - Math.Sqrt(sse / _testSize) / _range : 0.0;
        return Math.Clamp(g, 0.0, 1.0);
    }

    public double EmptyGain => GainFromSse(EmptySse);
}
