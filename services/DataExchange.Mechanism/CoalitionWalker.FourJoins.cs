namespace DataExchange.Mechanism;

/// <summary>
/// The walker's joins four at a time (<see cref="CoalitionWalker"/>'s other half): four consecutive joins of a walk read the
/// factor and the held-out Gram once instead of four times (<see cref="BlockKernels"/>), and give every G bit for bit as
/// joining one seller at a time does (docs/mechanism.md, "Growing the factor along a walk").
/// </summary>
internal sealed partial class CoalitionWalker
{
    /// <summary>Pushes sellers 0..M-1 in order (the full coalition), four at a time.</summary>
    public void PushAll()
    {
        Span<bool> accepted = stackalloc bool[4];
        var j = 0;
        for (; j + 4 <= _sellers; j += 4) PushFour(j, j + 1, j + 2, j + 3, accepted);
        for (; j < _sellers; j++) Push(j);
    }

    public void PushFour(int j0, int j1, int j2, int j3, Span<bool> accepted)
    {
        var m = _sellers;
        var shared = _count & ~3;
        var gram = _system.TrainGram;
        var x0 = _pending.AsSpan(0, m);
        var x1 = _pending.AsSpan(m, m);
        var x2 = _pending.AsSpan(2 * m, m);
        var x3 = _pending.AsSpan(3 * m, m);
        double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
        Span<double> s = stackalloc double[16];
        for (var r = 0; r < shared; r += 4)
        {
            BlockKernels.LowerRows4x4(_factor, m, r, x0, x1, x2, x3, s);
            ForwardGroup(r, gram.AsSpan(j0 * m, m), x0, s[0], s[4], s[8], s[12], ref d0);
            ForwardGroup(r, gram.AsSpan(j1 * m, m), x1, s[1], s[5], s[9], s[13], ref d1);
            ForwardGroup(r, gram.AsSpan(j2 * m, m), x2, s[2], s[6], s[10], s[14], ref d2);
            ForwardGroup(r, gram.AsSpan(j3 * m, m), x3, s[3], s[7], s[11], s[15], ref d3);
        }
        // Rejections do not change the rows [0, shared), so each pending row stays valid wherever it lands.
        accepted[0] = Finish(j0, x0, shared, d0);
        accepted[1] = Finish(j1, x1, shared, d1);
        accepted[2] = Finish(j2, x2, shared, d2);
        accepted[3] = Finish(j3, x3, shared, d3);
    }

    /// <summary>
    /// G after each of <paramref name="sellers"/> joins in turn, into <paramref name="gains"/>: what Join gives one at a
    /// time, bit for bit, four joins at a time (<see cref="PushFour"/>, <see cref="HeldOutSseFour"/>).
    /// </summary>
    public void JoinEach(ReadOnlySpan<int> sellers, double previous, Span<double> gains)
    {
        Span<bool> accepted = stackalloc bool[4];
        Span<int> sizes = stackalloc int[4];
        Span<double> sse = stackalloc double[4];
        var i = 0;
        for (; i + 4 <= sellers.Length; i += 4)
        {
            PushFour(sellers[i], sellers[i + 1], sellers[i + 2], sellers[i + 3], accepted);
            var count = _count;
            var fits = 0;
            for (var c = 3; c >= 0; c--)
                if (accepted[c]) fits++;
            // the coalition after each accepted join: sizes count - fits + 1 .. count
            for (var c = 0; c < fits; c++) sizes[c] = count - fits + 1 + c;
            HeldOutSseFour(sizes[..fits], sse);
            var f = 0;
            for (var c = 0; c < 4; c++)
            {
                if (accepted[c]) previous = _system.GainFromSse(sse[f++]);
                gains[i + c] = previous;
            }
        }
        for (; i < sellers.Length; i++) gains[i] = previous = Join(sellers[i], previous);
    }

    /// <summary>
    /// SSE of the coalitions of the first sizes[c] members (ascending, at most four, each at least 1) into sse[c]: the
    /// back substitutions and the quadratic forms of all of them with one pass over the factor and the held-out Gram
    /// (<see cref="BlockKernels"/>), each bit for bit what <see cref="HeldOutSse"/> gives at that size.
    /// </summary>
    private void HeldOutSseFour(ReadOnlySpan<int> sizes, Span<double> sse)
    {
        var n = sizes.Length;
        if (n == 0) return;
        var m = _sellers;
        var smallest = sizes[0];
        // Systems past n are padding: copies of the smallest, in scratch of their own, never read back.
        Span<int> size = stackalloc int[4];
        for (var c = 0; c < 4; c++) size[c] = c < n ? sizes[c] : smallest;
        var tmp0 = _blockScratch.AsSpan(0, m);
        var tmp1 = _blockScratch.AsSpan(m, m);
        var tmp2 = _blockScratch.AsSpan(2 * m, m);
        var tmp3 = _blockScratch.AsSpan(3 * m, m);
        var beta0 = _blockCoefficients.AsSpan(0, m);
        var beta1 = _blockCoefficients.AsSpan(m, m);
        var beta2 = _blockCoefficients.AsSpan(2 * m, m);
        var beta3 = _blockCoefficients.AsSpan(3 * m, m);
        // Back substitution: each system's own columns above the smallest size one at a time, then the shared columns
        // four at a time for all four systems; every element's subtractions in descending column order, as one system alone.
        for (var c = 0; c < 4; c++)
        {
            var t = _blockScratch.AsSpan(c * m, m);
            var beta = _blockCoefficients.AsSpan(c * m, m);
            _forward.AsSpan(0, size[c]).CopyTo(t);
            for (var col = size[c] - 1; col >= smallest; col--) BackColumn(col, t, beta);
        }
        var top = smallest - 1;
        Span<double> b = stackalloc double[16];
        for (; top >= 3; top -= 4)
        {
            BackGroup(top, tmp0, beta0, b[..4]);
            BackGroup(top, tmp1, beta1, b.Slice(4, 4));
            BackGroup(top, tmp2, beta2, b.Slice(8, 4));
            BackGroup(top, tmp3, beta3, b.Slice(12, 4));
            var len = top - 3;
            var l = _factor;
            BlockKernels.SubtractScaled4x4(len, tmp0, tmp1, tmp2, tmp3,
                l.AsSpan(top * m, len), l.AsSpan((top - 1) * m, len), l.AsSpan((top - 2) * m, len), l.AsSpan((top - 3) * m, len), b);
        }
        for (; top >= 0; top--)
        {
            BackColumn(top, tmp0, beta0);
            BackColumn(top, tmp1, beta1);
            BackColumn(top, tmp2, beta2);
            BackColumn(top, tmp3, beta3);
        }
        // The quadratic forms: the rows shared by all four systems four at a time for all of them, then each on its own.
        Span<double> quad = stackalloc double[4];
        Span<double> s = stackalloc double[16];
        var r = 0;
        for (; r + 4 <= smallest; r += 4)
        {
            BlockKernels.LowerRows4x4(_memberTestGram, m, r, beta0, beta1, beta2, beta3, s);
            QuadGroup(r, beta0, s[0], s[4], s[8], s[12], ref quad[0]);
            QuadGroup(r, beta1, s[1], s[5], s[9], s[13], ref quad[1]);
            QuadGroup(r, beta2, s[2], s[6], s[10], s[14], ref quad[2]);
            QuadGroup(r, beta3, s[3], s[7], s[11], s[15], ref quad[3]);
        }
        for (var c = 0; c < n; c++)
        {
            var beta = _blockCoefficients.AsSpan(c * m, size[c]);
            var q = Quad(beta, r, quad[c]);
            sse[c] = _system.EmptySse - 2.0 * Kernels.Dot(beta, _memberTestTarget) + q;
        }
    }
}
