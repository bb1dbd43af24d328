namespace DataExchange.Mechanism;

/// <summary>
/// Everything the linear model needs from one task, reduced to small Gram matrices (DESIGN.md, Performance).
/// With Z = [X_1..X_M, E_1..E_M] centred by the training means, the features allocated at noise level s are
/// X + sE, so their Gram matrix is XX' + s(XE' + EX') + s^2 EE' on either part of the series. A fit then costs
/// O(k^3) and a held-out error O(k^2), independent of T.
/// Centring first is exact for a model with an intercept and keeps the sums of squares well conditioned.
/// </summary>
public sealed class TaskMoments
{
    internal TaskMoments(int sellers, int trainSize, int testSize, double[] trainGram, double[] testGram,
        double[] trainZy, double[] testZy, double testYy, double testYSum, double testRange, double trainYMean,
        double[] trainMeanX, double[] trainMeanE)
    {
        Sellers = sellers;
        TrainSize = trainSize;
        TestSize = testSize;
        TrainGram = trainGram;
        TestGram = testGram;
        TrainZy = trainZy;
        TestZy = testZy;
        TestYy = testYy;
        TestYSum = testYSum;
        TestRange = testRange;
        TrainYMean = trainYMean;
        TrainMeanX = trainMeanX;
        TrainMeanE = trainMeanE;
    }

    public int Sellers { get; }
    public int TrainSize { get; }
    public int TestSize { get; }
    internal double[] TrainGram { get; }   // (2M x 2M) over the training part
    internal double[] TestGram { get; }    // (2M x 2M) over the held-out part
    internal double[] TrainZy { get; }     // Z'y over the training part (2M)
    internal double[] TestZy { get; }      // Z'y over the held-out part (2M)
    internal double TestYy { get; }        // sum of (y - ybar_train)^2 over the held-out part
    internal double TestYSum { get; }      // sum of (y - ybar_train) over the held-out part
    internal double TestRange { get; }     // max - min of Y on the held-out part
    internal double TrainYMean { get; }
    internal double[] TrainMeanX { get; }
    internal double[] TrainMeanE { get; }

    /// <summary>Index of the first held-out step: the model trains on [0, split) and is scored on [split, T).</summary>
    public static int TrainLength(int steps, double trainFraction) => (int)Math.Floor(trainFraction * steps);

    public static TaskMoments Compute(FeatureSet sellers, ReadOnlySpan<double> target, NoiseMatrix noise, MarketParameters parameters)
    {
        var m = sellers.Sellers;
        var steps = sellers.Steps;
        if (target.Length != steps)
            throw new ArgumentException($"target has {target.Length} values, expected {steps} (the sellers' series length).", nameof(target));
        if (noise.Sellers != m || noise.Steps != steps)
            throw new ArgumentException($"noise is {noise.Sellers}x{noise.Steps}, expected {m}x{steps}.", nameof(noise));
        for (var t = 0; t < steps; t++)
            if (!double.IsFinite(target[t]))
                throw new ArgumentException($"target[{t}] is {target[t]}, not a finite number.", nameof(target));
        var nTrain = TrainLength(steps, parameters.TrainFraction);
        var nTest = steps - nTrain;
        if (nTrain < 2 || nTest < 2)
            throw new ArgumentException($"target has {steps} values: too short to train on {parameters.TrainFraction:P0} and score on the rest (need at least 2 of each).", nameof(target));

        var width = 2 * m;
        var z = new double[width][];
        var meanX = new double[m];
        var meanE = new double[m];
        for (var i = 0; i < m; i++)
        {
            meanX[i] = Kernels.Mean(sellers.Row(i)[..nTrain]);
            meanE[i] = Kernels.Mean(noise.Row(i)[..nTrain]);
            z[i] = Centre(sellers.Row(i), meanX[i]);
            z[m + i] = Centre(noise.Row(i), meanE[i]);
        }
        var yMean = Kernels.Mean(target[..nTrain]);
        var y = Centre(target, yMean);

        var trainGram = new double[width * width];
        var testGram = new double[width * width];
        for (var a = 0; a < width; a++)
        {
            for (var b = a; b < width; b++)
            {
                var tr = Kernels.Dot(z[a].AsSpan(0, nTrain), z[b].AsSpan(0, nTrain));
                var te = Kernels.Dot(z[a].AsSpan(nTrain), z[b].AsSpan(nTrain));
                trainGram[a * width + b] = trainGram[b * width + a] = tr;
                testGram[a * width + b] = testGram[b * width + a] = te;
            }
        }
        var trainZy = new double[width];
        var testZy = new double[width];
        for (var a = 0; a < width; a++)
        {
            trainZy[a] = Kernels.Dot(z[a].AsSpan(0, nTrain), y.AsSpan(0, nTrain));
            testZy[a] = Kernels.Dot(z[a].AsSpan(nTrain), y.AsSpan(nTrain));
        }
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
        return new TaskMoments(m, nTrain, nTest, trainGram, testGram, trainZy, testZy,
            Kernels.Dot(testY, testY), testYSum, max - min, yMean, meanX, meanE);
    }

    private static double[] Centre(ReadOnlySpan<double> values, double mean)
    {
        var result = new double[values.Length];
        for (var t = 0; t < values.Length; t++) result[t] = values[t] - mean;
        return result;
    }
}

/// <summary>
/// The model's normal equations at one noise level s, in standardised coordinates: A = D^-1 C D^-1 and b = D^-1 c over
/// the training part, Q and q the same products over the held-out part, R0 the held-out sum of squares of the
/// empty coalition (which predicts the training mean). For a coalition S the ridge coefficients solve
/// (A_SS + alpha I) beta = b_S and the held-out error is SSE = R0 - 2 beta'q_S + beta'Q_SS beta.
/// Standardising each feature does not depend on which others are in S, so one system serves every coalition.
/// </summary>
internal sealed class GainSystem
{
    private GainSystem(int sellers, double noiseScale, double[] a, double[] b, double[] q, double[] qv, double[] invScale,
        double r0, TaskMoments moments, MarketParameters parameters)
    {
        Sellers = sellers;
        NoiseScale = noiseScale;
        A = a;
        B = b;
        Q = q;
        Qv = qv;
        InvScale = invScale;
        R0 = r0;
        _testSize = moments.TestSize;
        _range = moments.TestRange;
        _ssTot = moments.TestYy - moments.TestYSum * moments.TestYSum / moments.TestSize;
        Alpha = parameters.RidgeAlpha;
        Kind = parameters.Gain;
    }

    private readonly int _testSize;
    private readonly double _range;
    private readonly double _ssTot;

    public int Sellers { get; }
    public double NoiseScale { get; }
    public double[] A { get; }
    public double[] B { get; }
    public double[] Q { get; }
    public double[] Qv { get; }
    /// <summary>1 / standard deviation of each allocated feature on the training part (0 for a constant one).</summary>
    public double[] InvScale { get; }
    public double R0 { get; }
    public double Alpha { get; }
    public GainKind Kind { get; }

    public static GainSystem Build(TaskMoments mo, double noiseScale, MarketParameters parameters)
    {
        var m = mo.Sellers;
        var w = 2 * m;
        var s = noiseScale;
        var s2 = s * s;
        var a = new double[m * m];
        var q = new double[m * m];
        var b = new double[m];
        var qv = new double[m];
        var inv = new double[m];
        var tg = mo.TrainGram;
        var hg = mo.TestGram;
        for (var i = 0; i < m; i++)
        {
            var cii = tg[i * w + i] + 2 * s * tg[i * w + m + i] + s2 * tg[(m + i) * w + m + i];
            var variance = cii / mo.TrainSize;
            // A constant feature (zero variance, e.g. a seller whose series never moves) cannot be standardised;
            // like a standard scaler we leave it unscaled, and centred it is all zeros: it gets beta = 0.
            var scale = Math.Max(1.0, Math.Abs(mo.TrainMeanX[i]));
            inv[i] = variance > 1e-24 * scale * scale ? 1.0 / Math.Sqrt(variance) : 0.0;
        }
        for (var i = 0; i < m; i++)
        {
            for (var j = i; j < m; j++)
            {
                var c = tg[i * w + j] + s * (tg[i * w + m + j] + tg[(m + i) * w + j]) + s2 * tg[(m + i) * w + m + j];
                var h = hg[i * w + j] + s * (hg[i * w + m + j] + hg[(m + i) * w + j]) + s2 * hg[(m + i) * w + m + j];
                var f = inv[i] * inv[j];
                a[i * m + j] = a[j * m + i] = c * f;
                q[i * m + j] = q[j * m + i] = h * f;
            }
            b[i] = (mo.TrainZy[i] + s * mo.TrainZy[m + i]) * inv[i];
            qv[i] = (mo.TestZy[i] + s * mo.TestZy[m + i]) * inv[i];
        }
        return new GainSystem(m, noiseScale, a, b, q, qv, inv, mo.TestYy, mo, parameters);
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

    public double EmptyGain => GainFromSse(R0);
}

/// <summary>
/// A coalition grown one feature at a time, with the Cholesky factor of A_SS + alpha I grown by one row a step
/// (O(k^2)), so a permutation walk of PD_A* or a depth-first walk over all coalitions never refactors.
/// Collinear features (a copying seller sends the same series twice): when the new pivot is below a relative
/// 1e-10 of its diagonal, the feature adds nothing the coalition does not already span, so it is left out of
/// the fit (beta = 0 for it). That is an exact least-squares solution for OLS and never produces NaN; with the
/// default ridge (alpha > 0) the pivot is at least alpha, so every feature is kept and the fit is unique.
/// </summary>
internal sealed class CoalitionWalker
{
    private const double DependencyTolerance = 1e-10;
    private readonly GainSystem _sys;
    private readonly int _m;
    private readonly double[] _l;
    private readonly int[] _members;
    private readonly double[] _z;
    private readonly double[] _beta;
    private int _count;

    public CoalitionWalker(GainSystem system)
    {
        _sys = system;
        _m = system.Sellers;
        _l = new double[_m * _m];
        _members = new int[_m];
        _z = new double[_m];
        _beta = new double[_m];
    }

    public GainSystem System => _sys;

    /// <summary>Features in the fit (excludes those left out as dependent).</summary>
    public int Count => _count;

    public void Reset() => _count = 0;

    /// <summary>Adds feature j; false when it is linearly dependent on the coalition and so left out.</summary>
    public bool Push(int j)
    {
        var k = _count;
        var m = _m;
        var a = _sys.A;
        var l = _l;
        var rowK = k * m;
        var dot = 0.0;
        for (var r = 0; r < k; r++)
        {
            var rowR = r * m;
            var sum = a[_members[r] * m + j];
            for (var c = 0; c < r; c++) sum -= l[rowR + c] * l[rowK + c];
            var v = sum / l[rowR + r];
            l[rowK + r] = v;
            dot += v * v;
        }
        var diag = a[j * m + j] + _sys.Alpha;
        var pivot = diag - dot;
        if (!(pivot > DependencyTolerance * diag)) return false;
        var lkk = Math.Sqrt(pivot);
        l[rowK + k] = lkk;
        var zs = _sys.B[j];
        for (var c = 0; c < k; c++) zs -= l[rowK + c] * _z[c];
        _z[k] = zs / lkk;
        _members[k] = j;
        _count = k + 1;
        return true;
    }

    /// <summary>Removes the most recently pushed feature (only after a Push that returned true).</summary>
    public void Pop() => _count--;

    /// <summary>G of the current coalition: solves for beta (back substitution) and scores the held-out part.</summary>
    public double Gain() => _sys.GainFromSse(HeldOutSse());

    public double HeldOutSse()
    {
        var k = _count;
        if (k == 0) return _sys.R0;
        SolveBeta();
        var m = _m;
        var q = _sys.Q;
        var qv = _sys.Qv;
        var lin = 0.0;
        var quad = 0.0;
        for (var r = 0; r < k; r++)
        {
            var br = _beta[r];
            var row = _members[r] * m;
            var cross = 0.0;
            for (var c = 0; c < r; c++) cross += q[row + _members[c]] * _beta[c];
            quad += br * (q[row + _members[r]] * br + 2.0 * cross);
            lin += br * qv[_members[r]];
        }
        return _sys.R0 - 2.0 * lin + quad;
    }

    private void SolveBeta()
    {
        var k = _count;
        var m = _m;
        var l = _l;
        for (var r = k - 1; r >= 0; r--)
        {
            var sum = _z[r];
            for (var c = r + 1; c < k; c++) sum -= l[c * m + r] * _beta[c];
            _beta[r] = sum / l[r * m + r];
        }
    }

    /// <summary>Raw-scale coefficients of the current fit, one per seller (0 for those outside it).</summary>
    public double[] Coefficients()
    {
        SolveBeta();
        var w = new double[_m];
        for (var r = 0; r < _count; r++) w[_members[r]] = _beta[r] * _sys.InvScale[_members[r]];
        return w;
    }
}
