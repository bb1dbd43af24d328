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
internal sealed partial class CoalitionWalker : IGrowingCoalition
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
    private readonly double[] _pending;           // PushFour: the four new rows against the shared part of the factor
    private readonly double[] _blockScratch;      // HeldOutSseFour: four running right-hand sides
    private readonly double[] _blockCoefficients; // HeldOutSseFour: four betas
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
        _pending = new double[4 * _sellers];
        _blockScratch = new double[4 * _sellers];
        _blockCoefficients = new double[4 * _sellers];
    }

    public GainSystem System => _system;

    /// <summary>Features in the fit (excludes those left out as dependent).</summary>
    public int Count => _count;

    public void Reset() => _count = 0;

    /// <summary>Adds feature j; false when it is linearly dependent on the coalition and so left out.</summary>
    public bool Push(int j) => Finish(j, default, 0, 0.0);

    /// <summary>
    /// Pushes j0..j3 in order (each accepted or left out as <see cref="Push"/> would), with the forward substitution
    /// against the factor's rows [0, k &amp; ~3) done for all four at once (<see cref="BlockKernels.LowerRows4x4"/>): the
    /// same sums per row, so the same factor bit for bit, with the factor read once instead of four times.
    /// </summary>
    /// <summary>
    /// The new row of the factor for feature j, from row <paramref name="start"/> on (the entries before it, and the sum
    /// of their squares <paramref name="dot"/>, given in <paramref name="prefix"/>), then the pivot and z.
    /// </summary>
    private bool Finish(int j, ReadOnlySpan<double> prefix, int start, double dot)
    {
        var k = _count;
        var m = _sellers;
        var l = _factor;
        var gramRow = _system.TrainGram.AsSpan(j * m, m);
        var newRow = l.AsSpan(k * m, k + 1);
        prefix[..start].CopyTo(newRow);
        var r = start;
        // Forward substitution four rows at a time: the same sums as Dot(L[r, ..r], newRow) row by row (LowerRows4
        // gives their shared vector part, the tails follow in Dot's order), so the factor is bit for bit the row-by-row one.
        for (; r + 4 <= k; r += 4)
        {
            Kernels.LowerRows4(l, m, r, newRow, out var s0, out var s1, out var s2, out var s3);
            ForwardGroup(r, gramRow, newRow, s0, s1, s2, s3, ref dot);
        }
        for (; r < k; r++)
        {
            var v = (gramRow[_members[r]] - Kernels.Dot(l.AsSpan(r * m, r), newRow)) * _inverseDiagonal[r];
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

    /// <summary>Entries r..r+3 of a new row from the vector parts s0..s3 of their dots: the tails in Dot's order, then the divisions.</summary>
    private void ForwardGroup(int r, ReadOnlySpan<double> gramRow, Span<double> newRow, double s0, double s1, double s2, double s3, ref double dot)
    {
        var l = _factor;
        var m = _sellers;
        var members = _members;
        var invDiag = _inverseDiagonal;
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

    /// <summary>Removes the most recently pushed feature (only after a Push that returned true).</summary>
    public void Pop() => _count--;

    public int Sellers => _sellers;

    public double EmptyGain => _system.EmptyGain;

    /// <summary>G after feature j joins (refitted); a dependent feature leaves the fit, and G, as they were.</summary>
    public double Join(int j, double previous) => Push(j) ? Gain() : previous;

    /// <summary>G of the current coalition: solves for beta (back substitution) and scores the held-out part.</summary>
    public double Gain() => _system.GainFromSse(HeldOutSse());

    /// <summary>Coefficients of the current fit on the standardised features, one per seller (0 for those outside it).</summary>
    public double[] StandardisedCoefficients()
    {
        SolveCoefficients(_count, _backScratch, _coefficients);
        var b = new double[_sellers];
        for (var r = 0; r < _count; r++) b[_members[r]] = _coefficients[r];
        return b;
    }

    /// <summary>Raw-scale coefficients of the current fit, one per seller (0 for those outside it).</summary>
    public double[] Coefficients()
    {
        SolveCoefficients(_count, _backScratch, _coefficients);
        var w = new double[_sellers];
        for (var r = 0; r < _count; r++) w[_members[r]] = _coefficients[r] * _system.InverseScale[_members[r]];
        return w;
    }
}
