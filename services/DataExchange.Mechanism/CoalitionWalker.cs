using System.Runtime.CompilerServices;

namespace DataExchange.Mechanism;

/// <summary>
/// A coalition grown one feature at a time, with the Cholesky factor of A_SS + alpha I (A the training Gram of GainSystem) grown by one row a step
/// (O(k^2); docs/mechanism.md, "Growing the factor along a walk"), so a permutation walk of PD_A* or a depth-first walk over all coalitions never refactors.
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
    private readonly GainSystem _system;
    private readonly int _sellers;
    private readonly double[] _factor;            // L, the Cholesky factor: row r holds L[r, 0..r]
    private readonly double[] _inverseDiagonal;   // 1 / L[r, r]
    private readonly double[] _memberTestGram;    // row r holds Q[member r, members 0..r]
    private readonly double[] _memberTestTarget;  // q of member r
    private readonly int[] _members;              // the sellers in the fit, in the order they joined
    private readonly double[] _forward;           // z with L z = b_S (forward substitution, grown one entry a step)
    private readonly double[] _coefficients;      // beta with L' beta = z
    private readonly double[] _backScratch;       // the back substitution's running right-hand side
    private int _count;

    public CoalitionWalker(GainSystem system)
    {
        _system = system;
        _sellers = system.Sellers;
        _factor = new double[_sellers * _sellers];
        _inverseDiagonal = new double[_sellers];
        _memberTestGram = new double[_sellers * _sellers];
        _memberTestTarget = new double[_sellers];
        _members = new int[_sellers];
        _forward = new double[_sellers];
        _coefficients = new double[_sellers];
        _backScratch = new double[_sellers];
    }

    public GainSystem System => _system;

    public ICoalitionGame Fork() => new CoalitionWalker(_system);

    /// <summary>Features in the fit (excludes those left out as dependent).</summary>
    public int Count => _count;

    public void Reset() => _count = 0;

    /// <summary>Adds feature j; false when it is linearly dependent on the coalition and so left out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Push(int j)
    {
        var k = _count;
        var m = _sellers;
        var l = _factor;
        var gramRow = _system.TrainGram.AsSpan(j * m, m);
        var newRow = l.AsSpan(k * m, k + 1);
        var dot = 0.0;
        var members = _members;
        var invDiag = _inverseDiagonal;
        var r = 0;
        // Forward substitution four rows at a time: the same sums as Dot(L[r, ..r], newRow) row by row (LowerRows4
        // gives their shared vector part, the tails follow in Dot's order), so the factor is bit for bit the row-by-row one.
        for (; r + 4 <= k; r += 4)
        {
            Kernels.LowerRows4(l, m, r, newRow, out var s0, out var s1, out var s2, out var s3);
            var r1 = (r + 1) * m;
            var r2 = (r + 2) * m;
            var r3 = (r + 3) * m;
            var v0 = (gramRow[members[r]] - s0) * invDiag[r];
            s1 += l[r1 + r] * v0;
            var v1 = (gramRow[members[r + 1]] - s1) * invDiag[r + 1];
            s2 += l[r2 + r] * v0;
            s2 += l[r2 + r + 1] * v1;
            var v2 = (gramRow[members[r + 2]] - s2) * invDiag[r + 2];
            s3 += l[r3 + r] * v0;
            s3 += l[r3 + r + 1] * v1;
            s3 += l[r3 + r + 2] * v2;
            var v3 = (gramRow[members[r + 3]] - s3) * invDiag[r + 3];
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
            var v = (gramRow[members[r]] - Kernels.Dot(l.AsSpan(r * m, r), newRow)) * invDiag[r];
            newRow[r] = v;
            dot += v * v;
        }
        var diag = gramRow[j] + _system.Alpha;
        var pivot = diag - dot;
        if (!(pivot > DependencyTolerance * diag)) return false;
        var lkk = Math.Sqrt(pivot);
        newRow[k] = lkk;
        _inverseDiagonal[k] = 1.0 / lkk;
        _forward[k] = (_system.TrainTargetProducts[j] - Kernels.Dot(newRow[..k], _forward)) * _inverseDiagonal[k];
        var testGramRow = _system.TestGram.AsSpan(j * m, m);
        var memberTestRow = _memberTestGram.AsSpan(k * m, k + 1);
        for (var c = 0; c < k; c++) memberTestRow[c] = testGramRow[_members[c]];
        memberTestRow[k] = testGramRow[j];
        _memberTestTarget[k] = _system.TestTargetProducts[j];
        _members[k] = j;
        _count = k + 1;
        return true;
    }

    /// <summary>Removes the most recently pushed feature (only after a Push that returned true).</summary>
    public void Pop() => _count--;

    public int Sellers => _sellers;

    public double EmptyGain => _system.EmptyGain;

    /// <summary>G after feature j joins (refitted); a dependent feature leaves the fit, and G, as they were.</summary>
    public double Join(int j, double previous) => Push(j) ? Gain() : previous;

    /// <summary>G of the current coalition: solves for beta (back substitution) and scores the held-out part.</summary>
    public double Gain() => _system.GainFromSse(HeldOutSse());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double HeldOutSse()
    {
        var k = _count;
        if (k == 0) return _system.EmptySse;
        SolveCoefficients();
        var m = _sellers;
        var beta = _coefficients.AsSpan(0, k);
        var quad = 0.0;
        var qa = _memberTestGram;
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
        return _system.EmptySse - 2.0 * Kernels.Dot(beta, _memberTestTarget) + quad;
    }

    /// <summary>
    /// L' beta = z, column by column so the inner loop runs along a row of L: beta_c = t_c / L[c, c], then
    /// t[0..c) -= L[c, 0..c) beta_c. Four columns at a time: their small triangle first, then one pass over t[0..c-3)
    /// with the four rows (<see cref="Kernels.SubtractScaled4"/>), every element's subtractions in the column-by-column
    /// order, so beta is bit for bit the column-by-column one while t is read and written a quarter as often.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SolveCoefficients()
    {
        var k = _count;
        var m = _sellers;
        var tmp = _backScratch.AsSpan(0, k);
        _forward.AsSpan(0, k).CopyTo(tmp);
        var l = _factor;
        var inv = _inverseDiagonal;
        var c = k - 1;
        for (; c >= 3; c -= 4)
        {
            int r0 = c * m, r1 = (c - 1) * m, r2 = (c - 2) * m, r3 = (c - 3) * m;
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
            _coefficients[c] = b0;
            _coefficients[c - 1] = b1;
            _coefficients[c - 2] = b2;
            _coefficients[c - 3] = b3;
            var n = c - 3;
            Kernels.SubtractScaled4(tmp[..n], l.AsSpan(r0, n), l.AsSpan(r1, n), l.AsSpan(r2, n), l.AsSpan(r3, n), b0, b1, b2, b3);
        }
        for (; c >= 0; c--)
        {
            var bc = tmp[c] * _inverseDiagonal[c];
            _coefficients[c] = bc;
            Kernels.SubtractScaled(tmp[..c], _factor.AsSpan(c * m, c), bc);
        }
    }

    /// <summary>Coefficients of the current fit on the standardised features, one per seller (0 for those outside it).</summary>
    public double[] StandardisedCoefficients()
    {
        SolveCoefficients();
        var b = new double[_sellers];
        for (var r = 0; r < _count; r++) b[_members[r]] = _coefficients[r];
        return b;
    }

    /// <summary>Raw-scale coefficients of the current fit, one per seller (0 for those outside it).</summary>
    public double[] Coefficients()
    {
        SolveCoefficients();
        var w = new double[_sellers];
        for (var r = 0; r < _count; r++) w[_members[r]] = _coefficients[r] * _system.InverseScale[_members[r]];
        return w;
    }
}
