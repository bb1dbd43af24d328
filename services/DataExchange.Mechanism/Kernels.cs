using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DataExchange.Mechanism;

/// <summary>Small numeric kernels on the hot path.</summary>
internal static class Kernels
{
    /// <summary>
    /// Dot product with four fixed lanes and separate multiply and add (no FMA), so the result is the same bit for
    /// bit on every machine whether or not it has 256-bit vectors: seeds must replay identically anywhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    /// The vector part of Dot(rows[r0 + i][..(r0 + i)], x) for i = 0..3, rows of a row-major matrix with the given
    /// stride and r0 a multiple of 4: every one of those dots runs its 4-lane loop over exactly [0, r0), so this is the
    /// reduced sum <see cref="Dot"/> has before its scalar tail, bit for bit; the caller adds the tails in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>y[i] -= a[i] * c elementwise (multiply, then subtract: no FMA, so the same bits as the scalar loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Reduce(Vector256<double> acc) => (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3));

    public static double Mean(ReadOnlySpan<double> a)
    {
        var s = 0.0;
        foreach (var v in a) s += v;
        return s / a.Length;
    }
}
