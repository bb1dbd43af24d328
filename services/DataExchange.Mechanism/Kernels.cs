using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DataExchange.Mechanism;

/// <summary>
/// Small numeric kernels on the hot path. They and the loops that call them are compiled fully optimised at once
/// (AggressiveOptimization): a market's first tasks otherwise run them unoptimised until the tiered JIT promotes them,
/// hundreds of ms at M = 200. The JIT's tiers compute the same IEEE results, so nothing changes but the time.
/// </summary>
internal static class Kernels
{
    /// <summary>
    /// Dot product with four fixed lanes and separate multiply and add (no FMA), so the result is the same bit for
    /// bit on every machine whether or not it has 256-bit vectors: seeds must replay identically anywhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var n = a.Length;
        if (b.Length < n) throw new ArgumentException("b is shorter than a.", nameof(b));
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc = Vector256<double>.Zero;
        var i = 0;
        for (; i + 4 <= n; i += 4)
            acc += Vector256.LoadUnsafe(ref ra, (nuint)i) * Vector256.LoadUnsafe(ref rb, (nuint)i);
        var sum = (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3));
        for (; i < n; i++) sum += Unsafe.Add(ref ra, i) * Unsafe.Add(ref rb, i);
        return sum;
    }

    /// <summary>
    /// Dot(a, b_i) for four b_i at once, each bit for bit what <see cref="Dot"/> returns (the same lanes, the same
    /// reduction, the same tail): four independent accumulators hide the add latency and share the loads of a.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(ReadOnlySpan<double> a, ReadOnlySpan<double> b0, ReadOnlySpan<double> b1, ReadOnlySpan<double> b2,
        ReadOnlySpan<double> b3, out double s0, out double s1, out double s2, out double s3)
    {
        var n = a.Length;
        if (b0.Length < n || b1.Length < n || b2.Length < n || b3.Length < n) throw new ArgumentException("a b_i is shorter than a.");
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var r0 = ref MemoryMarshal.GetReference(b0);
        ref var r1 = ref MemoryMarshal.GetReference(b1);
        ref var r2 = ref MemoryMarshal.GetReference(b2);
        ref var r3 = ref MemoryMarshal.GetReference(b3);
        Vector256<double> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var va = Vector256.LoadUnsafe(ref ra, (nuint)i);
            acc0 += va * Vector256.LoadUnsafe(ref r0, (nuint)i);
            acc1 += va * Vector256.LoadUnsafe(ref r1, (nuint)i);
            acc2 += va * Vector256.LoadUnsafe(ref r2, (nuint)i);
            acc3 += va * Vector256.LoadUnsafe(ref r3, (nuint)i);
        }
        s0 = Reduce(acc0);
        s1 = Reduce(acc1);
        s2 = Reduce(acc2);
        s3 = Reduce(acc3);
        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref ra, i);
            s0 += x * Unsafe.Add(ref r0, i);
            s1 += x * Unsafe.Add(ref r1, i);
            s2 += x * Unsafe.Add(ref r2, i);
            s3 += x * Unsafe.Add(ref r3, i);
        }
    }

    /// <summary>
    /// Dot(a_i, b_j) for four a_i and four b_j at once into <paramref name="result"/>[4 i + j], each bit for bit what
    /// <see cref="Dot"/> returns (the same lanes, reduction and tail per pair): a register tile of sixteen accumulators
    /// reads eight series for sixteen dot products (Dot4 reads five for four), so a Gram build over long series streams
    /// its rows from memory 2.5 times less often.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x4(ReadOnlySpan<double> a0, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2, ReadOnlySpan<double> a3,
        ReadOnlySpan<double> b0, ReadOnlySpan<double> b1, ReadOnlySpan<double> b2, ReadOnlySpan<double> b3, Span<double> result)
    {
        var n = a0.Length;
        if (a1.Length < n || a2.Length < n || a3.Length < n || b0.Length < n || b1.Length < n || b2.Length < n || b3.Length < n || result.Length < 16)
            throw new ArgumentException("a series is shorter than a0, or the result has fewer than 16 places.");
        ref var x0 = ref MemoryMarshal.GetReference(a0);
        ref var x1 = ref MemoryMarshal.GetReference(a1);
        ref var x2 = ref MemoryMarshal.GetReference(a2);
        ref var x3 = ref MemoryMarshal.GetReference(a3);
        ref var y0 = ref MemoryMarshal.GetReference(b0);
        ref var y1 = ref MemoryMarshal.GetReference(b1);
        ref var y2 = ref MemoryMarshal.GetReference(b2);
        ref var y3 = ref MemoryMarshal.GetReference(b3);
        Vector256<double> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<double> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<double> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<double> c30 = default, c31 = default, c32 = default, c33 = default;
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var u = (nuint)i;
            var va0 = Vector256.LoadUnsafe(ref x0, u);
            var va1 = Vector256.LoadUnsafe(ref x1, u);
            var va2 = Vector256.LoadUnsafe(ref x2, u);
            var va3 = Vector256.LoadUnsafe(ref x3, u);
            var vb = Vector256.LoadUnsafe(ref y0, u);
            c00 += va0 * vb; c10 += va1 * vb; c20 += va2 * vb; c30 += va3 * vb;
            vb = Vector256.LoadUnsafe(ref y1, u);
            c01 += va0 * vb; c11 += va1 * vb; c21 += va2 * vb; c31 += va3 * vb;
            vb = Vector256.LoadUnsafe(ref y2, u);
            c02 += va0 * vb; c12 += va1 * vb; c22 += va2 * vb; c32 += va3 * vb;
            vb = Vector256.LoadUnsafe(ref y3, u);
            c03 += va0 * vb; c13 += va1 * vb; c23 += va2 * vb; c33 += va3 * vb;
        }
        result[0] = Reduce(c00); result[1] = Reduce(c01); result[2] = Reduce(c02); result[3] = Reduce(c03);
        result[4] = Reduce(c10); result[5] = Reduce(c11); result[6] = Reduce(c12); result[7] = Reduce(c13);
        result[8] = Reduce(c20); result[9] = Reduce(c21); result[10] = Reduce(c22); result[11] = Reduce(c23);
        result[12] = Reduce(c30); result[13] = Reduce(c31); result[14] = Reduce(c32); result[15] = Reduce(c33);
        for (; i < n; i++)
        {
            double p0 = Unsafe.Add(ref x0, i), p1 = Unsafe.Add(ref x1, i), p2 = Unsafe.Add(ref x2, i), p3 = Unsafe.Add(ref x3, i);
            double q0 = Unsafe.Add(ref y0, i), q1 = Unsafe.Add(ref y1, i), q2 = Unsafe.Add(ref y2, i), q3 = Unsafe.Add(ref y3, i);
            result[0] += p0 * q0; result[1] += p0 * q1; result[2] += p0 * q2; result[3] += p0 * q3;
            result[4] += p1 * q0; result[5] += p1 * q1; result[6] += p1 * q2; result[7] += p1 * q3;
            result[8] += p2 * q0; result[9] += p2 * q1; result[10] += p2 * q2; result[11] += p2 * q3;
            result[12] += p3 * q0; result[13] += p3 * q1; result[14] += p3 * q2; result[15] += p3 * q3;
        }
    }

    /// <summary>
    /// The vector part of Dot(rows[r0 + i][..(r0 + i)], x) for i = 0..3, rows of a row-major matrix with the given
    /// stride and r0 a multiple of 4: every one of those dots runs its 4-lane loop over exactly [0, r0), so this is the
    /// reduced sum <see cref="Dot"/> has before its scalar tail, bit for bit; the caller adds the tails in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void LowerRows4(ReadOnlySpan<double> rows, int stride, int r0, ReadOnlySpan<double> x,
        out double s0, out double s1, out double s2, out double s3)
    {
        if ((r0 & 3) != 0 || x.Length < r0 || rows.Length < (r0 + 3) * stride + r0) throw new ArgumentException("r0 must be a multiple of 4 inside the matrix.");
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var l0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(rows), r0 * stride);
        ref var l1 = ref Unsafe.Add(ref l0, stride);
        ref var l2 = ref Unsafe.Add(ref l1, stride);
        ref var l3 = ref Unsafe.Add(ref l2, stride);
        Vector256<double> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (var i = 0; i < r0; i += 4)
        {
            var vx = Vector256.LoadUnsafe(ref rx, (nuint)i);
            acc0 += Vector256.LoadUnsafe(ref l0, (nuint)i) * vx;
            acc1 += Vector256.LoadUnsafe(ref l1, (nuint)i) * vx;
            acc2 += Vector256.LoadUnsafe(ref l2, (nuint)i) * vx;
            acc3 += Vector256.LoadUnsafe(ref l3, (nuint)i) * vx;
        }
        s0 = Reduce(acc0);
        s1 = Reduce(acc1);
        s2 = Reduce(acc2);
        s3 = Reduce(acc3);
    }

    /// <summary>
    /// y[i] = (((y[i] - a0[i] c0) - a1[i] c1) - a2[i] c2) - a3[i] c3: four <see cref="SubtractScaled"/> calls in a row,
    /// each element's four subtractions in the same order, so the same bits, with y loaded and stored once instead of four times.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void SubtractScaled4(Span<double> y, ReadOnlySpan<double> a0, ReadOnlySpan<double> a1, ReadOnlySpan<double> a2,
        ReadOnlySpan<double> a3, double c0, double c1, double c2, double c3)
    {
        var n = y.Length;
        if (a0.Length < n || a1.Length < n || a2.Length < n || a3.Length < n) throw new ArgumentException("an a_i is shorter than y.");
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var r0 = ref MemoryMarshal.GetReference(a0);
        ref var r1 = ref MemoryMarshal.GetReference(a1);
        ref var r2 = ref MemoryMarshal.GetReference(a2);
        ref var r3 = ref MemoryMarshal.GetReference(a3);
        var v0 = Vector256.Create(c0);
        var v1 = Vector256.Create(c1);
        var v2 = Vector256.Create(c2);
        var v3 = Vector256.Create(c3);
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var u = (nuint)i;
            var v = Vector256.LoadUnsafe(ref ry, u) - Vector256.LoadUnsafe(ref r0, u) * v0;
            v -= Vector256.LoadUnsafe(ref r1, u) * v1;
            v -= Vector256.LoadUnsafe(ref r2, u) * v2;
            v -= Vector256.LoadUnsafe(ref r3, u) * v3;
            v.StoreUnsafe(ref ry, u);
        }
        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref ry, i) - Unsafe.Add(ref r0, i) * c0;
            x -= Unsafe.Add(ref r1, i) * c1;
            x -= Unsafe.Add(ref r2, i) * c2;
            x -= Unsafe.Add(ref r3, i) * c3;
            Unsafe.Add(ref ry, i) = x;
        }
    }

    /// <summary>y[i] -= a[i] * c elementwise (multiply, then subtract: no FMA, so the same bits as the scalar loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void SubtractScaled(Span<double> y, ReadOnlySpan<double> a, double c)
    {
        var n = y.Length;
        if (a.Length < n) throw new ArgumentException("a is shorter than y.", nameof(a));
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var ra = ref MemoryMarshal.GetReference(a);
        var vc = Vector256.Create(c);
        var i = 0;
        for (; i + 4 <= n; i += 4)
            (Vector256.LoadUnsafe(ref ry, (nuint)i) - Vector256.LoadUnsafe(ref ra, (nuint)i) * vc).StoreUnsafe(ref ry, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref ry, i) -= Unsafe.Add(ref ra, i) * c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Reduce(Vector256<double> acc) => (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3));

    public static double Mean(ReadOnlySpan<double> a)
    {
        var s = 0.0;
        foreach (var v in a) s += v;
        return s / a.Length;
    }
}
