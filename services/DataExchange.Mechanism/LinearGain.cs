namespace DataExchange.Mechanism;

/// <summary>
/// Everything the linear model needs from one task, reduced to small Gram matrices (README, "Speed").
/// With Z = [X_1..X_M, E_1..E_M] centred by the training means, the features allocated at noise level s are
/// X + sE, so their Gram matrix is XX' + s(XE' + EX') + s^2 EE' on either part of the series. A fit then costs
/// O(k^3) and a held-out error O(k^2), independent of T.
/// Centring first is exact for a model with an intercept and keeps the sums of squares well conditioned.
/// </summary>
public sealed class TaskMoments
{
    internal TaskMoments(int sellers, int trainSize, int testSize, GramBlocks train, GramBlocks test,
        double testYy, double testYSum, double testRange, double trainYMean, double[] trainMeanX, double[] trainMeanE)
    {
        Sellers = sellers;
        TrainSize = trainSize;
        TestSize = testSize;
        Train = train;
        Test = test;
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
    internal GramBlocks Train { get; }
    internal GramBlocks Test { get; }
    internal double TestYy { get; }        // sum of (y - ybar_train)^2 over the held-out part
    internal double TestYSum { get; }      // sum of (y - ybar_train) over the held-out part
    internal double TestRange { get; }     // max - min of Y on the held-out part
    internal double TrainYMean { get; }
    internal double[] TrainMeanX { get; }
    internal double[] TrainMeanE { get; }

    /// <summary>Index of the first held-out step: the model trains on [0, split) and is scored on [split, T).</summary>
    public static int TrainLength(int steps, double trainFraction) => (int)Math.Floor(trainFraction * steps);

    public static TaskMoments Compute(FeatureSet sellers, ReadOnlySpan<double> target, NoiseMatrix noise, MarketParameters parameters)
        => Compute(sellers, target, noise, parameters, useSellerCache: true);

    /// <summary>
    /// <paramref name="useSellerCache"/>: take the sellers' centred series and their own Gram blocks X X' from the
    /// feature set's cache (<see cref="FeatureSet.Moments"/>), computed once by the same code as here, so every number is
    /// bit for bit what the uncached path computes (a test holds them equal); they do not depend on the buyer or the noise.
    /// </summary>
    internal static TaskMoments Compute(FeatureSet sellers, ReadOnlySpan<double> target, NoiseMatrix noise, MarketParameters parameters,
        bool useSellerCache)
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

        var own = useSellerCache ? sellers.Moments(nTrain) : SellerMoments.Compute(sellers, nTrain);
        var x = own.Centred;
        var e = new double[m][];
        var meanE = new double[m];
        for (var i = 0; i < m; i++)
        {
            meanE[i] = Kernels.Mean(noise.Row(i)[..nTrain]);
            e[i] = Centre(noise.Row(i), meanE[i]);
        }
        var yMean = Kernels.Mean(target[..nTrain]);
        var y = Centre(target, yMean);
        var train = GramBlocks.Compute(x, e, y, 0, nTrain, own.TrainXx);
        var test = GramBlocks.Compute(x, e, y, nTrain, nTest, own.TestXx);
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
        return new TaskMoments(m, nTrain, nTest, train, test, Kernels.Dot(testY, testY), testYSum, max - min, yMean, own.Mean, meanE);
    }

    internal static double[] Centre(ReadOnlySpan<double> values, double mean)
    {
        var result = new double[values.Length];
        for (var t = 0; t < values.Length; t++) result[t] = values[t] - mean;
        return result;
    }
}

/// <summary>
/// What a task's moments need from the sellers alone for one train/test split: their training means, centred series
/// and X X' over each part. The same for every buyer and every noise draw, so a feature set computes it once.
/// Read-only once built (tasks share it).
/// </summary>
internal sealed class SellerMoments
{
    public required int TrainLength { get; init; }
    public required double[] Mean { get; init; }
    public required double[][] Centred { get; init; }
    public required double[] TrainXx { get; init; }
    public required double[] TestXx { get; init; }

    public static SellerMoments Compute(FeatureSet sellers, int nTrain)
    {
        var m = sellers.Sellers;
        var mean = new double[m];
        var x = new double[m][];
        for (var i = 0; i < m; i++)
        {
            mean[i] = Kernels.Mean(sellers.Row(i)[..nTrain]);
            x[i] = TaskMoments.Centre(sellers.Row(i), mean[i]);
        }
        return new SellerMoments
        {
            TrainLength = nTrain,
            Mean = mean,
            Centred = x,
            TrainXx = GramBlocks.Symmetric(x, 0, nTrain),
            TestXx = GramBlocks.Symmetric(x, nTrain, sellers.Steps - nTrain),
        };
    }
}


/// <summary>
/// Products of the centred series over one part of the series (M x M, row-major): the Gram of the features
/// allocated at noise level s is Xx + s Cross + s^2 Ee, and their product with y is Xy + s Ey.
/// </summary>
internal sealed class GramBlocks
{
    public required double[] Xx { get; init; }
    public required double[] Cross { get; init; }   // XE' + EX'
    public required double[] Ee { get; init; }
    public required double[] Xy { get; init; }
    public required double[] Ey { get; init; }

    /// <summary>The blocks over [start, start + length); <paramref name="xx"/> is X X' over it, from the sellers' cache.</summary>
    public static GramBlocks Compute(double[][] x, double[][] e, double[] y, int start, int length, double[] xx)
    {
        var m = x.Length;
        var xe = new double[m * m];
        Span<double> tile = stackalloc double[16];
        var i = 0;
        // 4 x 4 tiles of X E' (Kernels.Dot4x4), then the rows and columns left over one Dot each: every entry is Dot(x_i, e_j).
        for (; i + 4 <= m; i += 4)
        {
            var j = 0;
            for (; j + 4 <= m; j += 4)
            {
                Kernels.Dot4x4(x[i].AsSpan(start, length), x[i + 1].AsSpan(start, length), x[i + 2].AsSpan(start, length), x[i + 3].AsSpan(start, length),
                    e[j].AsSpan(start, length), e[j + 1].AsSpan(start, length), e[j + 2].AsSpan(start, length), e[j + 3].AsSpan(start, length), tile);
                for (var r = 0; r < 4; r++)
                    for (var c = 0; c < 4; c++) xe[(i + r) * m + j + c] = tile[4 * r + c];
            }
            for (; j < m; j++)
                for (var r = 0; r < 4; r++) xe[(i + r) * m + j] = Kernels.Dot(x[i + r].AsSpan(start, length), e[j].AsSpan(start, length));
        }
        for (; i < m; i++)
        {
            var xi = x[i].AsSpan(start, length);
            var j = 0;
            for (; j + 4 <= m; j += 4)
                Kernels.Dot4(xi, e[j].AsSpan(start, length), e[j + 1].AsSpan(start, length), e[j + 2].AsSpan(start, length),
                    e[j + 3].AsSpan(start, length), out xe[i * m + j], out xe[i * m + j + 1], out xe[i * m + j + 2], out xe[i * m + j + 3]);
            for (; j < m; j++) xe[i * m + j] = Kernels.Dot(xi, e[j].AsSpan(start, length));
        }
        var ee = Symmetric(e, start, length);
        var cross = new double[m * m];
        for (var r = 0; r < m; r++)
            for (var c = 0; c < m; c++)
                cross[r * m + c] = xe[r * m + c] + xe[c * m + r];
        var xy = new double[m];
        var ey = new double[m];
        var ys = y.AsSpan(start, length);
        for (var r = 0; r < m; r++)
        {
            xy[r] = Kernels.Dot(x[r].AsSpan(start, length), ys);
            ey[r] = Kernels.Dot(e[r].AsSpan(start, length), ys);
        }
        return new GramBlocks { Xx = xx, Cross = cross, Ee = ee, Xy = xy, Ey = ey };
    }

    /// <summary>R R' over [start, start + length), row-major and symmetric: entry (i, j) is Kernels.Dot(r_i, r_j) for j &lt;= i, bit for bit.</summary>
    public static double[] Symmetric(double[][] rows, int start, int length)
    {
        var m = rows.Length;
        var g = new double[m * m];
        Span<double> tile = stackalloc double[16];
        var blocked = m / 4 * 4;
        // 4 x 4 tiles on and below the diagonal (Kernels.Dot4x4; a diagonal tile's upper half repeats its lower half, and
        // a b = b a in floating point, so it writes the same bits); the rows below the last whole tile as before.
        for (var i = 0; i < blocked; i += 4)
            for (var j = 0; j <= i; j += 4)
            {
                Kernels.Dot4x4(rows[i].AsSpan(start, length), rows[i + 1].AsSpan(start, length), rows[i + 2].AsSpan(start, length), rows[i + 3].AsSpan(start, length),
                    rows[j].AsSpan(start, length), rows[j + 1].AsSpan(start, length), rows[j + 2].AsSpan(start, length), rows[j + 3].AsSpan(start, length), tile);
                for (var r = 0; r < 4; r++)
                    for (var c = 0; c < 4; c++) g[(i + r) * m + j + c] = g[(j + c) * m + i + r] = tile[4 * r + c];
            }
        for (var i = blocked; i < m; i++)
        {
            var ri = rows[i].AsSpan(start, length);
            var j = 0;
            for (; j + 4 <= i + 1; j += 4)
            {
                Kernels.Dot4(ri, rows[j].AsSpan(start, length), rows[j + 1].AsSpan(start, length), rows[j + 2].AsSpan(start, length),
                    rows[j + 3].AsSpan(start, length), out var s0, out var s1, out var s2, out var s3);
                g[i * m + j] = g[j * m + i] = s0;
                g[i * m + j + 1] = g[(j + 1) * m + i] = s1;
                g[i * m + j + 2] = g[(j + 2) * m + i] = s2;
                g[i * m + j + 3] = g[(j + 3) * m + i] = s3;
            }
            for (; j <= i; j++) g[i * m + j] = g[j * m + i] = Kernels.Dot(ri, rows[j].AsSpan(start, length));
        }
        return g;
    }
}

/// <summary>
/// The model's normal equations at one noise level s, in standardised coordinates: A = D^-1 C D^-1 and b = D^-1 c over
/// the training part, Q and q the same products over the held-out part, R0 the held-out sum of squares of the
/// empty coalition (which predicts the training mean). For a coalition S the ridge coefficients solve
/// (A_SS + alpha I) beta = b_S and the held-out error is SSE = R0 - 2 beta'q_S + beta'Q_SS beta.
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
        A = new double[m * m];
        Q = new double[m * m];
        B = new double[m];
        Qv = new double[m];
        InvScale = new double[m];
        R0 = moments.TestYy;
        _testSize = moments.TestSize;
        _range = moments.TestRange;
        _ssTot = moments.TestYy - moments.TestYSum * moments.TestYSum / moments.TestSize;
        Alpha = parameters.RidgeAlpha;
        Kind = parameters.Gain;
    }

    public int Sellers { get; }
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
        var inv = InvScale;
        for (var i = 0; i < m; i++)
        {
            var d = i * m + i;
            var variance = (tr.Xx[d] + s * tr.Cross[d] + s2 * tr.Ee[d]) / mo.TrainSize;
            // A constant feature (zero variance, e.g. a seller whose series never moves) cannot be standardised;
            // like a standard scaler we leave it unscaled, and centred it is all zeros: it gets beta = 0.
            var scale = Math.Max(1.0, Math.Abs(mo.TrainMeanX[i]));
            inv[i] = variance > 1e-24 * scale * scale ? 1.0 / Math.Sqrt(variance) : 0.0;
        }
        var a = A;
        var q = Q;
        for (var i = 0; i < m; i++)
        {
            var row = i * m;
            var fi = inv[i];
            for (var j = 0; j <= i; j++)
            {
                var k = row + j;
                var f = fi * inv[j];
                var av = (tr.Xx[k] + s * tr.Cross[k] + s2 * tr.Ee[k]) * f;
                var qv = (te.Xx[k] + s * te.Cross[k] + s2 * te.Ee[k]) * f;
                a[k] = a[j * m + i] = av;
                q[k] = q[j * m + i] = qv;
            }
            B[i] = (tr.Xy[i] + s * tr.Ey[i]) * fi;
            Qv[i] = (te.Xy[i] + s * te.Ey[i]) * fi;
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

    public double EmptyGain => GainFromSse(R0);
}

/// <summary>
/// A cooperative game over the sellers as a Shapley estimator walks it: a coalition grown one seller at a time,
/// its value G in [0, 1] after each join. <see cref="CoalitionWalker"/> refits the model (PD_A*);
/// <see cref="InterventionalGame"/> keeps the full model's coefficients.
/// </summary>
internal interface ICoalitionGame
{
    int Sellers { get; }

    /// <summary>G of the empty coalition.</summary>
    double EmptyGain { get; }

    /// <summary>Back to the empty coalition.</summary>
    void Reset();

    /// <summary>G once seller j has joined the current coalition (<paramref name="previous"/> is G before).</summary>
    double Join(int j, double previous);
}

/// <summary>
/// A coalition grown one feature at a time, with the Cholesky factor of A_SS + alpha I grown by one row a step
/// (O(k^2)), so a permutation walk of PD_A* or a depth-first walk over all coalitions never refactors.
/// The held-out products of the members are copied into a packed triangle as they join, so every inner loop
/// runs over contiguous memory.
/// Collinear features (a copying seller sends the same series twice): when the new pivot is below a relative
/// 1e-10 of its diagonal, the feature adds nothing the coalition does not already span, so it is left out of
/// the fit (beta = 0 for it). That is an exact least-squares solution for OLS and never produces NaN; with the
/// default ridge (alpha > 0) the pivot is at least alpha, so every feature is kept and the fit is unique.
/// </summary>
internal sealed class CoalitionWalker : IGrowingCoalition
{
    private const double DependencyTolerance = 1e-10;
    private readonly GainSystem _sys;
    private readonly int _m;
    private readonly double[] _l;        // Cholesky factor, row r holds L[r, 0..r]
    private readonly double[] _invDiag;  // 1 / L[r, r]
    private readonly double[] _qa;       // row r holds Q[member r, members 0..r]
    private readonly double[] _qva;      // q of member r
    private readonly int[] _members;
    private readonly double[] _z;        // L z = b_S
    private readonly double[] _beta;
    private readonly double[] _column;
    private int _count;

    public CoalitionWalker(GainSystem system)
    {
        _sys = system;
        _m = system.Sellers;
        _l = new double[_m * _m];
        _invDiag = new double[_m];
        _qa = new double[_m * _m];
        _qva = new double[_m];
        _members = new int[_m];
        _z = new double[_m];
        _beta = new double[_m];
        _column = new double[_m];
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
        var l = _l;
        var aj = _sys.A.AsSpan(j * m, m);
        var newRow = l.AsSpan(k * m, k + 1);
        var dot = 0.0;
        var members = _members;
        var invDiag = _invDiag;
        var r = 0;
        // Forward substitution four rows at a time: the same sums as Dot(L[r, ..r], newRow) row by row (LowerRows4
        // gives their shared vector part, the tails follow in Dot's order), so the factor is bit for bit the row-by-row one.
        for (; r + 4 <= k; r += 4)
        {
            Kernels.LowerRows4(l, m, r, newRow, out var s0, out var s1, out var s2, out var s3);
            var r1 = (r + 1) * m;
            var r2 = (r + 2) * m;
            var r3 = (r + 3) * m;
            var v0 = (aj[members[r]] - s0) * invDiag[r];
            s1 += l[r1 + r] * v0;
            var v1 = (aj[members[r + 1]] - s1) * invDiag[r + 1];
            s2 += l[r2 + r] * v0;
            s2 += l[r2 + r + 1] * v1;
            var v2 = (aj[members[r + 2]] - s2) * invDiag[r + 2];
            s3 += l[r3 + r] * v0;
            s3 += l[r3 + r + 1] * v1;
            s3 += l[r3 + r + 2] * v2;
            var v3 = (aj[members[r + 3]] - s3) * invDiag[r + 3];
            newRow[r] = v0;
            newRow[r + 1] = v1;
            newRow[r + 2] = v2;
            newRow[r + 3] = v3;
            dot += v0 * v0;
            dot += v1 * v1;
            dot += v2 * v2;
            dot += v3 * v3;
        }
        for (; r < k; r++)
        {
            var v = (aj[members[r]] - Kernels.Dot(l.AsSpan(r * m, r), newRow)) * invDiag[r];
            newRow[r] = v;
            dot += v * v;
        }
        var diag = aj[j] + _sys.Alpha;
        var pivot = diag - dot;
        if (!(pivot > DependencyTolerance * diag)) return false;
        var lkk = Math.Sqrt(pivot);
        newRow[k] = lkk;
        _invDiag[k] = 1.0 / lkk;
        _z[k] = (_sys.B[j] - Kernels.Dot(newRow[..k], _z)) * _invDiag[k];
        var qj = _sys.Q.AsSpan(j * m, m);
        var qRow = _qa.AsSpan(k * m, k + 1);
        for (var c = 0; c < k; c++) qRow[c] = qj[_members[c]];
        qRow[k] = qj[j];
        _qva[k] = _sys.Qv[j];
        _members[k] = j;
        _count = k + 1;
        return true;
    }

    /// <summary>Removes the most recently pushed feature (only after a Push that returned true).</summary>
    public void Pop() => _count--;

    public int Sellers => _m;

    public double EmptyGain => _sys.EmptyGain;

    /// <summary>G after feature j joins (refitted); a dependent feature leaves the fit, and G, as they were.</summary>
    public double Join(int j, double previous) => Push(j) ? Gain() : previous;

    /// <summary>G of the current coalition: solves for beta (back substitution) and scores the held-out part.</summary>
    public double Gain() => _sys.GainFromSse(HeldOutSse());

    public double HeldOutSse()
    {
        var k = _count;
        if (k == 0) return _sys.R0;
        SolveBeta();
        var m = _m;
        var beta = _beta.AsSpan(0, k);
        var quad = 0.0;
        var qa = _qa;
        var r = 0;
        // Four rows at a time, each the same sum as Dot(Qa[r, ..r], beta) (see Push).
        for (; r + 4 <= k; r += 4)
        {
            Kernels.LowerRows4(qa, m, r, beta, out var s0, out var s1, out var s2, out var s3);
            var r1 = (r + 1) * m;
            var r2 = (r + 2) * m;
            var r3 = (r + 3) * m;
            s1 += qa[r1 + r] * beta[r];
            s2 += qa[r2 + r] * beta[r];
            s2 += qa[r2 + r + 1] * beta[r + 1];
            s3 += qa[r3 + r] * beta[r];
            s3 += qa[r3 + r + 1] * beta[r + 1];
            s3 += qa[r3 + r + 2] * beta[r + 2];
            var b0 = beta[r];
            var b1 = beta[r + 1];
            var b2 = beta[r + 2];
            var b3 = beta[r + 3];
            quad += b0 * (qa[r * m + r] * b0 + 2.0 * s0);
            quad += b1 * (qa[r1 + r + 1] * b1 + 2.0 * s1);
            quad += b2 * (qa[r2 + r + 2] * b2 + 2.0 * s2);
            quad += b3 * (qa[r3 + r + 3] * b3 + 2.0 * s3);
        }
        for (; r < k; r++)
        {
            var br = beta[r];
            quad += br * (qa[r * m + r] * br + 2.0 * Kernels.Dot(qa.AsSpan(r * m, r), beta));
        }
        return _sys.R0 - 2.0 * Kernels.Dot(beta, _qva) + quad;
    }

    /// <summary>L' beta = z, column by column so the inner loop runs along a row of L.</summary>
    private void SolveBeta()
    {
        var k = _count;
        var m = _m;
        var tmp = _column.AsSpan(0, k);
        _z.AsSpan(0, k).CopyTo(tmp);
        for (var c = k - 1; c >= 0; c--)
        {
            var bc = tmp[c] * _invDiag[c];
            _beta[c] = bc;
            Kernels.SubtractScaled(tmp[..c], _l.AsSpan(c * m, c), bc);
        }
    }

    /// <summary>Coefficients of the current fit on the standardised features, one per seller (0 for those outside it).</summary>
    public double[] StandardisedCoefficients()
    {
        SolveBeta();
        var b = new double[_m];
        for (var r = 0; r < _count; r++) b[_members[r]] = _beta[r];
        return b;
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
