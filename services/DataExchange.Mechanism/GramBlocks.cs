using System.Runtime.CompilerServices;

namespace DataExchange.Mechanism;

/// <summary>
/// Products of the centred series over one part of the series (M x M, row-major): with X the sellers' series and E the
/// task's noise, the Gram of the features allocated at noise level s is XX' + s (XE' + EX') + s^2 EE', that is
/// SellerGram + s CrossGram + s^2 NoiseGram, and their product with the target y is Xy + s Ey, SellerTarget + s NoiseTarget.
/// </summary>
internal sealed class GramBlocks
{
    public required double[] SellerGram { get; init; }     // X X'
    public required double[] CrossGram { get; init; }      // X E' + E X'
    public required double[] NoiseGram { get; init; }      // E E'
    public required double[] SellerTarget { get; init; }   // X y
    public required double[] NoiseTarget { get; init; }    // E y

    /// <summary>
    /// The blocks over [start, start + length); <paramref name="xx"/> is X X' over it, from the sellers' cache. The
    /// products' row blocks run on up to <paramref name="threads"/> threads: each entry is one kernel call whatever thread
    /// makes it, so the blocks are the same bits at any thread count.
    /// </summary>
    public static GramBlocks Compute(double[][] x, double[][] e, double[] y, int start, int length, double[] xx, int threads = 1)
    {
        var m = x.Length;
        var xe = new double[m * m];
        // 4 x 4 tiles of X E' (Kernels.Dot4x4), then the rows and columns left over one Dot each: every entry is Dot(x_i, e_j).
        ParallelWork.For((m + 3) / 4, threads, (block, _) =>
        {
            var i = 4 * block;
            if (i + 4 <= m) CrossTiles(x, e, start, length, i, xe);
            else
                for (; i < m; i++) CrossRow(x, e, start, length, i, xe);
        });
        var ee = Symmetric(e, start, length, threads);
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
        return new GramBlocks { SellerGram = xx, CrossGram = cross, NoiseGram = ee, SellerTarget = xy, NoiseTarget = ey };
    }

    /// <summary>Rows i..i+3 of X E' by 4 x 4 tiles, the columns left over one Dot each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CrossTiles(double[][] x, double[][] e, int start, int length, int i, double[] xe)
    {
        var m = x.Length;
        Span<double> tile = stackalloc double[16];
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

    /// <summary>Row i of X E' (a row below the last whole tile), four products at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CrossRow(double[][] x, double[][] e, int start, int length, int i, double[] xe)
    {
        var m = x.Length;
        var xi = x[i].AsSpan(start, length);
        var j = 0;
        for (; j + 4 <= m; j += 4)
            Kernels.Dot4(xi, e[j].AsSpan(start, length), e[j + 1].AsSpan(start, length), e[j + 2].AsSpan(start, length),
                e[j + 3].AsSpan(start, length), out xe[i * m + j], out xe[i * m + j + 1], out xe[i * m + j + 2], out xe[i * m + j + 3]);
        for (; j < m; j++) xe[i * m + j] = Kernels.Dot(xi, e[j].AsSpan(start, length));
    }

    /// <summary>R R' over [start, start + length), row-major and symmetric: entry (i, j) is Kernels.Dot(r_i, r_j) for j &lt;= i, bit for bit.</summary>
    public static double[] Symmetric(double[][] rows, int start, int length, int threads = 1)
    {
        var m = rows.Length;
        var g = new double[m * m];
        var blocked = m / 4 * 4;
        // 4 x 4 tiles on and below the diagonal (Kernels.Dot4x4; a diagonal tile's upper half repeats its lower half, and
        // a b = b a in floating point, so it writes the same bits); the rows below the last whole tile as before. A row
        // block writes only its own rows and their mirror columns, so blocks run on any thread (the longest rows first).
        var blocks = (m + 3) / 4;
        ParallelWork.For(blocks, threads, (index, _) =>
        {
            var i = 4 * (blocks - 1 - index);
            if (i < blocked) SymmetricTiles(rows, start, length, i, g);
            else
                for (; i < m; i++) SymmetricRow(rows, start, length, i, g);
        });
        return g;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SymmetricTiles(double[][] rows, int start, int length, int i, double[] g)
    {
        var m = rows.Length;
        Span<double> tile = stackalloc double[16];
        for (var j = 0; j <= i; j += 4)
        {
            Kernels.Dot4x4(rows[i].AsSpan(start, length), rows[i + 1].AsSpan(start, length), rows[i + 2].AsSpan(start, length), rows[i + 3].AsSpan(start, length),
                rows[j].AsSpan(start, length), rows[j + 1].AsSpan(start, length), rows[j + 2].AsSpan(start, length), rows[j + 3].AsSpan(start, length), tile);
            for (var r = 0; r < 4; r++)
                for (var c = 0; c < 4; c++) g[(i + r) * m + j + c] = g[(j + c) * m + i + r] = tile[4 * r + c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SymmetricRow(double[][] rows, int start, int length, int i, double[] g)
    {
        var m = rows.Length;
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
}
