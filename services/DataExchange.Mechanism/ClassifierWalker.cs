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
    private readonly ClassifierSystem _system;
    private readonly int _sellers;
    private readonly int _classes;
    private readonly int _nTest;
    private readonly double[] _factor;            // L, row r holds L[r, 0..r]
    private readonly double[] _inverseDiagonal;   // 1 / L[r, r]
    private readonly int[] _members;              // the sellers in the fit, in the order they joined
    private readonly double[] _testBasis;         // G = F_S L^-T: column r (at r nTest) is the held-out features in the factor's basis
    private readonly double[] _forward;           // z_c = L^-1 B_c,S at c M + r
    private readonly double[] _scores;            // scores[c nTest + t] of the current coalition
    private readonly double _emptyGain;
    private int _count;

    public ClassifierWalker(ClassifierSystem system)
    {
        _system = system;
        _sellers = system.Fit.Sellers;
        _classes = system.Labels.Classes.Length;
        _nTest = system.Labels.TestSize;
        _factor = new double[_sellers * _sellers];
        _inverseDiagonal = new double[_sellers];
        _members = new int[_sellers];
        _testBasis = new double[_sellers * _nTest];
        _forward = new double[_classes * _sellers];
        _scores = new double[_classes * _nTest];
        ResetScores(0);
        _emptyGain = Gain();
    }

    public int Sellers => _sellers;
    public ICoalitionGame Fork() => new ClassifierWalker(_system);
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
        var m = _sellers;
        var a = _system.Fit.TrainGram.AsSpan(j * m, m);
        var row = _factor.AsSpan(k * m, k + 1);
        var dot = 0.0;
        for (var r = 0; r < k; r++)
        {
            var v = (a[_members[r]] - Kernels.Dot(_factor.AsSpan(r * m, r), row[..r])) * _inverseDiagonal[r];
            row[r] = v;
            dot += v * v;
        }
        var diag = a[j] + _system.Fit.Alpha;
        var pivot = diag - dot;
        if (!(pivot > DependencyTolerance * diag)) return false;
        var lkk = Math.Sqrt(pivot);
        row[k] = lkk;
        var inv = 1.0 / lkk;
        _inverseDiagonal[k] = inv;
        var nTest = _nTest;
        var g = _testBasis.AsSpan(k * nTest, nTest);
        _system.TestFeatures.AsSpan(j * nTest, nTest).CopyTo(g);
        for (var r = 0; r < k; r++) Kernels.SubtractScaled(g, _testBasis.AsSpan(r * nTest, nTest), row[r]);
        for (var t = 0; t < nTest; t++) g[t] *= inv;
        for (var c = 0; c < _classes; c++)
        {
            var zc = _forward.AsSpan(c * m, k + 1);
            zc[k] = (_system.ClassTargetProducts[c * m + j] - Kernels.Dot(row[..k], zc[..k])) * inv;
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
            s.Fill(_system.Labels.TrainMean[c]);
            for (var r = 0; r < columns; r++) Kernels.SubtractScaled(s, _testBasis.AsSpan(r * nTest, nTest), -_forward[c * _sellers + r]);
        }
    }

    /// <summary>G of the current coalition from its held-out scores: the accuracy of the arg max against the labels.</summary>
    public double Gain()
    {
        var labels = _system.Labels;
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
