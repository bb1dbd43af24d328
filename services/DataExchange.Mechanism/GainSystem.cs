using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// Refills the system for noise level s. With <paramref name="lowerTriangle"/> only the Grams' entries (i, j &lt;= i)
    /// are written (half the memory traffic): enough for a walker that pushes the sellers in index order, which reads
    /// nothing else (RF*'s full coalitions); the entries above the diagonal are then stale.
    /// </summary>
    public void Rebuild(double noiseScale, bool lowerTriangle = false)
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
        for (var i = 0; i < m; i++)
        {
            // Whole rows, not the lower triangle mirrored: the blocks are symmetric bit for bit (X X' and E E' are filled
            // from one product per pair, X E' + E X' adds the same two terms either way) and inv_i inv_j = inv_j inv_i, so
            // entry (i, j) is the bits the mirror wrote, and every store runs along a row.
            var fi = inv[i];
            var length = lowerTriangle ? i + 1 : m;
            ScaledRow(tr, i * m, length, s, s2, fi, inv, TrainGram);
            ScaledRow(te, i * m, length, s, s2, fi, inv, TestGram);
            TrainTargetProducts[i] = (tr.SellerTarget[i] + s * tr.NoiseTarget[i]) * fi;
            TestTargetProducts[i] = (te.SellerTarget[i] + s * te.NoiseTarget[i]) * fi;
        }
    }

    /// <summary>
    /// Row i of a standardised Gram at level s, its first <paramref name="length"/> entries: (SellerGram + s CrossGram +
    /// s^2 NoiseGram)[i, j] (inv_i inv_j), four
    /// entries at a time with the scalar expression's operations in its order (no FMA), so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaledRow(GramBlocks blocks, int row, int length, double s, double s2, double fi, double[] inv, double[] into)
    {
        var x = blocks.SellerGram.AsSpan(row, length);
        var c = blocks.CrossGram.AsSpan(row, length);
        var e = blocks.NoiseGram.AsSpan(row, length);
        var o = into.AsSpan(row, length);
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var rc = ref MemoryMarshal.GetReference(c);
        ref var re = ref MemoryMarshal.GetReference(e);
        ref var ro = ref MemoryMarshal.GetReference(o);
        ref var rinv = ref MemoryMarshal.GetArrayDataReference(inv);
        if (inv.Length < length) throw new ArgumentException("inv is shorter than a row.", nameof(inv));
        var vs = Vector256.Create(s);
        var vs2 = Vector256.Create(s2);
        var vfi = Vector256.Create(fi);
        var j = 0;
        for (; j + 4 <= length; j += 4)
        {
            var u = (nuint)j;
            var f = vfi * Vector256.LoadUnsafe(ref rinv, u);
            var v = (Vector256.LoadUnsafe(ref rx, u) + vs * Vector256.LoadUnsafe(ref rc, u) + vs2 * Vector256.LoadUnsafe(ref re, u)) * f;
            v.StoreUnsafe(ref ro, u);
        }
        for (; j < length; j++) o[j] = (x[j] + s * c[j] + s2 * e[j]) * (fi * inv[j]);
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
