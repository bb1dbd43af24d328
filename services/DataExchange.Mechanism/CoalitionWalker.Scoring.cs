namespace DataExchange.Mechanism;

/// <summary>
/// Scoring the walker's coalition (<see cref="CoalitionWalker"/>'s second part): beta by back substitution through the
/// factor, then the held-out error R0 - 2 beta'q_S + beta'Q_SS beta (docs/mechanism.md, "The gain from Gram blocks").
/// </summary>
internal sealed partial class CoalitionWalker
{
    /// <summary>The held-out sum of squared errors of the current coalition's fit.</summary>
    public double HeldOutSse()
    {
        var k = _count;
        if (k == 0) return _system.EmptySse;
        var beta = _coefficients.AsSpan(0, k);
        SolveCoefficients(k, _backScratch, beta);
        var quad = Quad(beta, 0, 0.0);
        return _system.EmptySse - 2.0 * Kernels.Dot(beta, _memberTestTarget) + quad;
    }

    /// <summary>beta' Q_SS beta over the packed held-out Gram, from row <paramref name="start"/> on (a multiple of 4) with the rows before it summed in <paramref name="quad"/>.</summary>
    private double Quad(ReadOnlySpan<double> beta, int start, double quad)
    {
        var k = beta.Length;
        var m = _sellers;
        var qa = _memberTestGram;
        var r = start;
        // Four rows at a time, each the same sum as Dot(Qa[r, ..r], beta) (see Push).
        for (; r + 4 <= k; r += 4)
        {
            Kernels.LowerRows4(qa, m, r, beta, out var s0, out var s1, out var s2, out var s3);
            QuadGroup(r, beta, s0, s1, s2, s3, ref quad);
        }
        for (; r < k; r++)
        {
            var br = beta[r];
            quad += br * (qa[r * m + r] * br + 2.0 * Kernels.Dot(qa.AsSpan(r * m, r), beta));
        }
        return quad;
    }

    /// <summary>Rows r..r+3 of the quadratic form from the vector parts s0..s3 of their dots: the tails in Dot's order, then the terms in row order.</summary>
    private void QuadGroup(int r, ReadOnlySpan<double> beta, double s0, double s1, double s2, double s3, ref double quad)
    {
        var m = _sellers;
        var qa = _memberTestGram;
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

    /// <summary>
    /// L' beta = z for the first k members, column by column so the inner loop runs along a row of L: beta_c = t_c / L[c, c],
    /// then t[0..c) -= L[c, 0..c) beta_c. Four columns at a time: their small triangle first (<see cref="BackGroup"/>), then
    /// one pass over t[0..c-3) with the four rows (<see cref="Kernels.SubtractScaled4"/>), every element's subtractions in
    /// the column-by-column order, so beta is bit for bit the column-by-column one while t is read and written a quarter as often.
    /// </summary>
    private void SolveCoefficients(int k, Span<double> scratch, Span<double> beta)
    {
        var m = _sellers;
        var tmp = scratch[..k];
        _forward.AsSpan(0, k).CopyTo(tmp);
        var l = _factor;
        Span<double> b = stackalloc double[4];
        var c = k - 1;
        for (; c >= 3; c -= 4)
        {
            BackGroup(c, tmp, beta, b);
            var n = c - 3;
            Kernels.SubtractScaled4(tmp[..n], l.AsSpan(c * m, n), l.AsSpan((c - 1) * m, n), l.AsSpan((c - 2) * m, n), l.AsSpan((c - 3) * m, n),
                b[0], b[1], b[2], b[3]);
        }
        for (; c >= 0; c--) BackColumn(c, tmp, beta);
    }

    /// <summary>Column c alone: beta_c = t_c / L[c, c], t[0..c) -= L[c, 0..c) beta_c.</summary>
    private void BackColumn(int c, Span<double> tmp, Span<double> beta)
    {
        var bc = tmp[c] * _inverseDiagonal[c];
        beta[c] = bc;
        Kernels.SubtractScaled(tmp[..c], _factor.AsSpan(c * _sellers, c), bc);
    }

    /// <summary>Columns c..c-3's triangle: beta_c..beta_(c-3) into beta and b, t[c-1..c-3] updated in column order.</summary>
    private void BackGroup(int c, Span<double> tmp, Span<double> beta, Span<double> b)
    {
        var l = _factor;
        var m = _sellers;
        var inv = _inverseDiagonal;
        int r0 = c * m, r1 = (c - 1) * m, r2 = (c - 2) * m;
        var b0 = tmp[c] * inv[c];
        tmp[c - 1] -= l[r0 + c - 1] * b0;
        var b1 = tmp[c - 1] * inv[c - 1];
        tmp[c - 2] -= l[r0 + c - 2] * b0;
        tmp[c - 2] -= l[r1 + c - 2] * b1;
        var b2 = tmp[c - 2] * inv[c - 2];
        tmp[c - 3] -= l[r0 + c - 3] * b0;
        tmp[c - 3] -= l[r1 + c - 3] * b1;
        tmp[c - 3] -= l[r2 + c - 3] * b2;
        var b3 = tmp[c - 3] * inv[c - 3];
        beta[c] = b[0] = b0;
        beta[c - 1] = b[1] = b1;
        beta[c - 2] = b[2] = b2;
        beta[c - 3] = b[3] = b3;
    }
}
