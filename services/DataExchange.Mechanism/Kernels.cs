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

    public static double Mean(ReadOnlySpan<double> a)
    {
        var s = 0.0;
        foreach (var v in a) s += v;
        return s / a.Length;
    }
}
