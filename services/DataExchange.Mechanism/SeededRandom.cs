using System.Runtime.CompilerServices;

namespace DataExchange.Mechanism;

/// <summary>
/// xoshiro256** seeded through SplitMix64: a generator whose stream depends on the seed alone, on every
/// machine and runtime version, so a recorded seed replays a task bit for bit. It derives from
/// System.Random so MathNet's distributions (e.g. Normal.Sample) can draw from it.
/// </summary>
public sealed class SeededRandom : Random
{
    private ulong _s0, _s1, _s2, _s3;

    public SeededRandom(ulong seed)
    {
        var sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>One step of SplitMix64; also used to derive independent seeds from one.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A seed derived from a parent seed and a stream number (e.g. market seed and task index).</summary>
    public static ulong Derive(ulong parent, ulong stream)
    {
        var s = parent ^ (stream * 0xD1B54A32D192ED03UL);
        SplitMix64(ref s);
        return SplitMix64(ref s);
    }

    public ulong NextUInt64() => Step(ref _s0, ref _s1, ref _s2, ref _s3);

    /// <summary>One step of xoshiro256**: the output, and the state moved on (inlined, so a caller's locals stay in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ref ulong s0, ref ulong s1, ref ulong s2, ref ulong s3)
    {
        var result = RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    protected override double Sample() => NextDouble();

    public override int Next() => (int)(NextUInt64() >> 33);

    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)NextBounded((ulong)maxValue);
    }

    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)(minValue + (long)NextBounded((ulong)((long)maxValue - minValue)));
    }

    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    public override void NextBytes(Span<byte> buffer)
    {
        for (var i = 0; i < buffer.Length; i++) buffer[i] = (byte)(NextUInt64() >> 56);
    }

    /// <summary>Uniform on [0, bound) without modulo bias (Lemire's method).</summary>
    private ulong NextBounded(ulong bound)
    {
        if (bound <= 1) return 0;
        while (true)
        {
            var x = NextUInt64();
            var hi = Math.BigMul(x, bound, out var lo);
            if (lo >= bound || lo >= (0 - bound) % bound) return hi;
        }
    }

    /// <summary>
    /// Fills <paramref name="values"/> with standard normal draws: Box-Muller, both values of each pair used.
    /// Written out rather than taken from MathNet because it is on every task's path (M x T draws) and this is
    /// several times faster; the stream is fixed by the seed alone.
    /// </summary>
    public void FillStandardNormal(Span<double> values) => ToStandardNormal(values, FillUniforms(values));

    /// <summary>
    /// The uniforms <see cref="FillStandardNormal"/> draws for <paramref name="values"/>, in its order: each pair's two
    /// (radius, then angle) in place, and for an odd length the last value's two returned. So a caller may draw the
    /// (cheap) uniforms of many rows in sequence and transform the rows (<see cref="ToStandardNormal"/>) on other threads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal (double Radius, double Angle) FillUniforms(Span<double> values)
    {
        var even = values.Length & ~1;
        // NextDouble's steps with the state in locals (registers) instead of fields: the same stream, several times faster.
        var (s0, s1, s2, s3) = (_s0, _s1, _s2, _s3);
        for (var i = 0; i < even; i++)
            values[i] = (Step(ref s0, ref s1, ref s2, ref s3) >> 11) * (1.0 / (1UL << 53));
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
        if (even == values.Length) return (0.0, 0.0);
        var radius = NextDouble();
        return (radius, NextDouble());
    }

    /// <summary>Box-Muller on the uniforms <see cref="FillUniforms"/> left: the same normals FillStandardNormal gave, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ToStandardNormal(Span<double> values, (double Radius, double Angle) last)
    {
        var i = 0;
        for (; i + 1 < values.Length; i += 2)
        {
            var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - values[i]));
            var (sin, cos) = Math.SinCos(2.0 * Math.PI * values[i + 1]);
            values[i] = radius * cos;
            values[i + 1] = radius * sin;
        }
        if (i < values.Length)
            values[i] = Math.Sqrt(-2.0 * Math.Log(1.0 - last.Radius)) * Math.Cos(2.0 * Math.PI * last.Angle);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)NextBounded((ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
