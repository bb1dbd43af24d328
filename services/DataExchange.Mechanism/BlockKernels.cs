using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DataExchange.Mechanism;

/// <summary>
/// The walker's kernels for four right-hand sides at once (<see cref="CoalitionWalker.JoinEach"/>): four consecutive
/// joins of a walk read the factor and the held-out Gram once instead of four times. Each of the sixteen results is,
/// bit for bit, what the one-right-hand-side kernel (<see cref="Kernels.LowerRows4"/>, <see cref="Kernels.SubtractScaled4"/>)
/// computes for it: the same four lanes, the same reduction, the same order of operations per element.
/// </summary>
internal static class BlockKernels
{
    /// <summary>
    /// s[4 i + c] = the vector part of Dot(rows[r0 + i][..(r0 + i)], x_c) for rows i = 0..3 and right-hand sides
    /// c = 0..3, as <see cref="Kernels.LowerRows4"/> computes it for one x (r0 a multiple of 4; the caller adds the tails).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LowerRows4x4(ReadOnlySpan<double> rows, int stride, int r0, ReadOnlySpan<double> x0, ReadOnlySpan<double> x1,
        ReadOnlySpan<double> x2, ReadOnlySpan<double> x3, Span<double> s)
    {
        if ((r0 & 3) != 0 || x0.Length < r0 || x1.Length < r0 || x2.Length < r0 || x3.Length < r0 || s.Length < 16
            || rows.Length < (r0 + 3) * stride + r0)
            throw new ArgumentException("r0 must be a multiple of 4 inside the matrix, the x_c at least r0 long, s 16 long.");
        ref var y0 = ref MemoryMarshal.GetReference(x0);
        ref var y1 = ref MemoryMarshal.GetReference(x1);
        ref var y2 = ref MemoryMarshal.GetReference(x2);
        ref var y3 = ref MemoryMarshal.GetReference(x3);
        ref var l0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(rows), r0 * stride);
        ref var l1 = ref Unsafe.Add(ref l0, stride);
        ref var l2 = ref Unsafe.Add(ref l1, stride);
        ref var l3 = ref Unsafe.Add(ref l2, stride);
        Vector256<double> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<double> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<double> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<double> c30 = default, c31 = default, c32 = default, c33 = default;
        for (var i = 0; i < r0; i += 4)
        {
            var u = (nuint)i;
            var v0 = Vector256.LoadUnsafe(ref y0, u);
            var v1 = Vector256.LoadUnsafe(ref y1, u);
            var v2 = Vector256.LoadUnsafe(ref y2, u);
            var v3 = Vector256.LoadUnsafe(ref y3, u);
            var row = Vector256.LoadUnsafe(ref l0, u);
            c00 += row * v0; c01 += row * v1; c02 += row * v2; c03 += row * v3;
            row = Vector256.LoadUnsafe(ref l1, u);
            c10 += row * v0; c11 += row * v1; c12 += row * v2; c13 += row * v3;
            row = Vector256.LoadUnsafe(ref l2, u);
            c20 += row * v0; c21 += row * v1; c22 += row * v2; c23 += row * v3;
            row = Vector256.LoadUnsafe(ref l3, u);
            c30 += row * v0; c31 += row * v1; c32 += row * v2; c33 += row * v3;
        }
        s[0] = Kernels.Reduce(c00); s[1] = Kernels.Reduce(c01); s[2] = Kernels.Reduce(c02); s[3] = Kernels.Reduce(c03);
        s[4] = Kernels.Reduce(c10); s[5] = Kernels.Reduce(c11); s[6] = Kernels.Reduce(c12); s[7] = Kernels.Reduce(c13);
        s[8] = Kernels.Reduce(c20); s[9] = Kernels.Reduce(c21); s[10] = Kernels.Reduce(c22); s[11] = Kernels.Reduce(c23);
        s[12] = Kernels.Reduce(c30); s[13] = Kernels.Reduce(c31); s[14] = Kernels.Reduce(c32); s[15] = Kernels.Reduce(c33);
    }

    /// <summary>
    /// y_c[i] = (((y_c[i] - a0[i] b[4 c]) - a1[i] b[4 c + 1]) - a2[i] b[4 c + 2]) - a3[i] b[4 c + 3] for the four y_c over
    /// [0, n): <see cref="Kernels.SubtractScaled4"/> on each y_c, with the four rows of a loaded once for all of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SubtractScaled4x4(int n, Span<double> y0, Span<double> y1, Span<double> y2, Span<double> y3,
        ReadOnlySpan<double> a0, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2, ReadOnlySpan<double> a3, ReadOnlySpan<double> b)
    {
        if (y0.Length < n || y1.Length < n || y2.Length < n || y3.Length < n || a0.Length < n || a1.Length < n || a2.Length < n
            || a3.Length < n || b.Length < 16)
            throw new ArgumentException("a span is shorter than n, or b has fewer than 16 coefficients.");
        ref var q0 = ref MemoryMarshal.GetReference(a0);
        ref var q1 = ref MemoryMarshal.GetReference(a1);
        ref var q2 = ref MemoryMarshal.GetReference(a2);
        ref var q3 = ref MemoryMarshal.GetReference(a3);
        ref var t0 = ref MemoryMarshal.GetReference(y0);
        ref var t1 = ref MemoryMarshal.GetReference(y1);
        ref var t2 = ref MemoryMarshal.GetReference(y2);
        ref var t3 = ref MemoryMarshal.GetReference(y3);
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var u = (nuint)i;
            var w0 = Vector256.LoadUnsafe(ref q0, u);
            var w1 = Vector256.LoadUnsafe(ref q1, u);
            var w2 = Vector256.LoadUnsafe(ref q2, u);
            var w3 = Vector256.LoadUnsafe(ref q3, u);
            Step(ref t0, u, w0, w1, w2, w3, b[0], b[1], b[2], b[3]);
            Step(ref t1, u, w0, w1, w2, w3, b[4], b[5], b[6], b[7]);
            Step(ref t2, u, w0, w1, w2, w3, b[8], b[9], b[10], b[11]);
            Step(ref t3, u, w0, w1, w2, w3, b[12], b[13], b[14], b[15]);
        }
        for (; i < n; i++)
        {
            double p0 = Unsafe.Add(ref q0, i), p1 = Unsafe.Add(ref q1, i), p2 = Unsafe.Add(ref q2, i), p3 = Unsafe.Add(ref q3, i);
            ScalarStep(ref Unsafe.Add(ref t0, i), p0, p1, p2, p3, b[0], b[1], b[2], b[3]);
            ScalarStep(ref Unsafe.Add(ref t1, i), p0, p1, p2, p3, b[4], b[5], b[6], b[7]);
            ScalarStep(ref Unsafe.Add(ref t2, i), p0, p1, p2, p3, b[8], b[9], b[10], b[11]);
            ScalarStep(ref Unsafe.Add(ref t3, i), p0, p1, p2, p3, b[12], b[13], b[14], b[15]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ref double y, nuint u, Vector256<double> w0, Vector256<double> w1, Vector256<double> w2, Vector256<double> w3,
        double b0, double b1, double b2, double b3)
    {
        var v = Vector256.LoadUnsafe(ref y, u) - w0 * Vector256.Create(b0);
        v -= w1 * Vector256.Create(b1);
        v -= w2 * Vector256.Create(b2);
        v -= w3 * Vector256.Create(b3);
        v.StoreUnsafe(ref y, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalarStep(ref double y, double p0, double p1, double p2, double p3, double b0, double b1, double b2, double b3)
    {
        var x = y - p0 * b0;
        x -= p1 * b1;
        x -= p2 * b2;
        x -= p3 * b3;
        y = x;
    }
}
