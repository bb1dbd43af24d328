namespace DataExchange.Mechanism;

/// <summary>
/// The classifier's coalition, grown one seller a step like <see cref="CoalitionWalker"/>: the Cholesky factor
/// L L' = A_SS + alpha I gains a row (O(k^2)), and so do z_c = L^-1 B_c,S (one entry per class) and the held-out features
/// in the factor's basis, G = F_S L^-T (one column, O(k nTest): the earlier columns do not change when L grows). The
/// held-out scores of class c are ybar_c + G z_c = ybar_c + F_S beta_c, kept per class and step and updated by one column
/// a step, so a step costs O(k^2 + (k + C) nTest) and never refits or touches the training part.
/// A dependent feature (pivot below 1e-10 of its diagonal) is left out, as in the regression walker.
/// </summary>
internal sealed class ClassifierWalker : IGrowingCoalition
{
    private const double DependencyTolerance = 1e-10;
    private readonly ClassifierSystem _sys;
    private readonly int _m;
    private readonly int _classes;
    private readonly int _nTest;
    private readonly double[] _l;
    private readonly double[] _invDiag;
    private readonly int[] _members;
    private readonly double[] _g;       // column r at r nTest: held-out features in the factor's basis
    private readonly double[] _z;       // z[c M + r]
    private readonly double[] _scores;  // scores[c nTest + t] of the current coalition
    private readonly double _emptyGain;
    private int _count;

    public ClassifierWalker(ClassifierSystem system)
    {
        _sys = system;
        _m = system.Fit.Sellers;
        _classes = system.Labels.Classes.Length;
        _nTest = system.Labels.TestSize;
        _l = new double[_m * _m];
        _invDiag = new double[_m];
        _members = new int[_m];
        _g = new double[_m * _nTest];
        _z = new double[_classes * _m];
        _scores = new double[_classes * _nTest];
        ResetScores(0);
        _emptyGain = Gain();
    }

    public int Sellers => _m;
    public double EmptyGain => _emptyGain;
    public int Count => _count;

    public void Reset()
    {
        _count = 0;
        ResetScores(0);
    }

    public double Join(int j, double previous) => Push(j) ? Gain() : previous;

    public bool Push(int j)
    {
        var k = _count;
        var m = _m;
        var a = _sys.Fit.A.AsSpan(j * m, m);
        var row = _l.AsSpan(k * m, k + 1);
        var dot = 0.0;
        for (var r = 0; r < k; r++)
        {
            var v = (a[_members[r]] - Kernels.Dot(_l.AsSpan(r * m, r), row[..r])) * _invDiag[r];
            row[r] = v;
            dot += v * v;
        }
        var diag = a[j] + _sys.Fit.Alpha;
        var pivot = diag - dot;
        if (!(pivot > DependencyTolerance * diag)) return false;
        var lkk = Math.Sqrt(pivot);
        row[k] = lkk;
        var inv = 1.0 / lkk;
        _invDiag[k] = inv;
        var nTest = _nTest;
        var g = _g.AsSpan(k * nTest, nTest);
        _sys.TestRows.AsSpan(j * nTest, nTest).CopyTo(g);
        for (var r = 0; r < k; r++) Kernels.SubtractScaled(g, _g.AsSpan(r * nTest, nTest), row[r]);
        for (var t = 0; t < nTest; t++) g[t] *= inv;
        for (var c = 0; c < _classes; c++)
        {
            var zc = _z.AsSpan(c * m, k + 1);
            zc[k] = (_sys.B[c * m + j] - Kernels.Dot(row[..k], zc[..k])) * inv;
            Kernels.SubtractScaled(_scores.AsSpan(c * nTest, nTest), g, -zc[k]);
        }
        _members[k] = j;
        _count = k + 1;
        return true;
    }

    /// <summary>
    /// Drops the last seller. The scores are summed again from the intercepts in the order the columns were added, the
    /// same operations the pushes made, so they are bit for bit what they were before that push (no drift over a walk).
    /// </summary>
    public void Pop()
    {
        _count--;
        ResetScores(_count);
    }

    private void ResetScores(int columns)
    {
        var nTest = _nTest;
        for (var c = 0; c < _classes; c++)
        {
            var s = _scores.AsSpan(c * nTest, nTest);
            s.Fill(_sys.Labels.TrainMean[c]);
            for (var r = 0; r < columns; r++) Kernels.SubtractScaled(s, _g.AsSpan(r * nTest, nTest), -_z[c * _m + r]);
        }
    }

    /// <summary>G of the current coalition from its held-out scores: the accuracy of the arg max against the labels.</summary>
    public double Gain()
    {
        var labels = _sys.Labels;
        var nTrain = labels.TrainSize;
        var hits = 0;
        for (var t = 0; t < _nTest; t++)
            if (Predicted(t) == labels.Index[nTrain + t]) hits++;
        return Classification.Gain((double)hits / _nTest, labels.Base);
    }

    /// <summary>The class index predicted at held-out step t: the largest score, the smallest class on a tie.</summary>
    public int Predicted(int t)
    {
        var best = 0;
        var bestScore = _scores[t];
        for (var c = 1; c < _classes; c++)
        {
            var s = _scores[c * _nTest + t];
            if (s > bestScore)
            {
                best = c;
                bestScore = s;
            }
        }
        return best;
    }
}
