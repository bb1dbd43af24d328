namespace DataExchange.Mechanism;

/// <summary>
/// Classification tasks (Remark 2.2: the gain is measured by accuracy instead of RMSE). The buyer's target holds class
/// labels; the model is least-squares one-vs-rest: for each class c, ridge (with intercept, on the standardised features,
/// the regression's own normal equations) on the indicator 1[label = c], and a held-out step is predicted as the class
/// with the largest score (ties to the smallest label). Every class shares the Gram matrix A, so a fit is one Cholesky
/// factor and one triangular solve per class (README, "Speed").
/// G = max(0, (acc - base) / (1 - base)) on the held-out part, acc the classifier's accuracy and base the accuracy of
/// predicting the training part's majority class (the empty coalition, whose scores are the class frequencies): a perfect
/// classifier scores 1, the empty coalition 0. When base = 1 (the held-out part is all the majority class) G = 0.
/// </summary>
public static class Classification
{
    /// <summary>Most classes a target may have (each class is one more solve per fit and one more score per held-out step).</summary>
    public const int MaxClasses = 50;

    /// <summary>Largest |label| accepted: labels are integers, exactly representable as doubles and as ints.</summary>
    public const double MaxLabel = 1_000_000_000;

    /// <summary>G from an accuracy and the majority-class baseline (see the class summary).</summary>
    public static double Gain(double accuracy, double baseAccuracy) =>
        baseAccuracy >= 1.0 ? 0.0 : Math.Clamp((accuracy - baseAccuracy) / (1.0 - baseAccuracy), 0.0, 1.0);

    /// <summary>
    /// Why <paramref name="labels"/> cannot be a classification target, as (index or -1 for the whole series, reason), or
    /// null when it can: every value a finite integer of at most <see cref="MaxLabel"/> in size, two to
    /// <see cref="MaxClasses"/> distinct classes.
    /// </summary>
    public static (int Index, string Reason)? LabelProblem(ReadOnlySpan<double> labels)
    {
        var classes = new HashSet<double>();
        for (var t = 0; t < labels.Length; t++)
        {
            var v = labels[t];
            if (!double.IsFinite(v)) return (t, $"is {v}, not a class label (an integer)");
            if (v != Math.Floor(v)) return (t, $"is {v}, not a class label (an integer)");
            if (Math.Abs(v) > MaxLabel) return (t, $"is {v}; class labels lie in [-{MaxLabel:0}, {MaxLabel:0}]");
            classes.Add(v == 0 ? 0.0 : v);
        }
        if (classes.Count < 2) return (-1, $"has {classes.Count} class{(classes.Count == 1 ? "" : "es")}; a classification target needs two or more");
        if (classes.Count > MaxClasses) return (-1, $"has {classes.Count} classes; at most {MaxClasses} are accepted");
        return null;
    }
}

/// <summary>A task's class labels: the classes (sorted label values), each step's class index, the training frequencies and the baseline.</summary>
internal sealed class ClassLabels
{
    public ClassLabels(ReadOnlySpan<double> labels, int trainSize)
    {
        if (Classification.LabelProblem(labels) is { } problem)
            throw new ArgumentException(problem.Index < 0 ? $"target {problem.Reason}." : $"target[{problem.Index}] {problem.Reason}.", "target");
        Classes = labels.ToArray().Select(v => v == 0 ? 0.0 : v).Distinct().Order().ToArray();
        var index = new int[labels.Length];
        for (var t = 0; t < labels.Length; t++) index[t] = Array.BinarySearch(Classes, labels[t] == 0 ? 0.0 : labels[t]);
        Index = index;
        TrainSize = trainSize;
        TestSize = labels.Length - trainSize;
        var counts = new int[Classes.Length];
        for (var t = 0; t < trainSize; t++) counts[index[t]]++;
        TrainMean = counts.Select(c => (double)c / trainSize).ToArray();
        Majority = 0;
        for (var c = 1; c < counts.Length; c++)
            if (counts[c] > counts[Majority]) Majority = c;
        var hits = 0;
        for (var t = trainSize; t < labels.Length; t++)
            if (index[t] == Majority) hits++;
        Base = (double)hits / TestSize;
    }

    public double[] Classes { get; }
    /// <summary>Class index of every step.</summary>
    public int[] Index { get; }
    public int TrainSize { get; }
    public int TestSize { get; }
    /// <summary>ybar_c: the share of the training steps in class c (the intercept of class c's indicator regression).</summary>
    public double[] TrainMean { get; }
    /// <summary>The training part's most frequent class (the smallest on a tie): the empty coalition's prediction.</summary>
    public int Majority { get; }
    /// <summary>The accuracy of always predicting the majority class on the held-out part.</summary>
    public double Base { get; }
}

/// <summary>
/// The one-vs-rest fit at one allocation level: the regression's standardised Gram A (from <see cref="GainSystem"/>), one
/// right-hand side B_c = D^-1 X'(y_c - ybar_c) per class over the training part, and the standardised held-out features.
/// </summary>
internal sealed class ClassifierSystem
{
    private ClassifierSystem(GainSystem fit, ClassLabels labels, double[] b, double[] testRows)
    {
        Fit = fit;
        Labels = labels;
        B = b;
        TestRows = testRows;
    }

    public GainSystem Fit { get; }
    public ClassLabels Labels { get; }
    /// <summary>B[c M + m]: class c's right-hand side for seller m.</summary>
    public double[] B { get; }
    /// <summary>TestRows[m nTest + t]: seller m's allocated feature at held-out step t, centred and standardised as the fit's.</summary>
    public double[] TestRows { get; }

    /// <summary>
    /// With noise the allocated series are X + s E, so a task computes its parts once (<see cref="NoiseParts"/>) and each
    /// level costs O(C M + M nTest) instead of O(M T).
    /// </summary>
    public static ClassifierSystem Build(GainSystem fit, NoiseParts parts, double s, ClassLabels labels)
    {
        var m = fit.Sellers;
        var classes = labels.Classes.Length;
        var nTest = labels.TestSize;
        var b = new double[classes * m];
        var test = new double[m * nTest];
        for (var i = 0; i < m; i++)
        {
            var inv = fit.InvScale[i];
            var total = parts.TrainTotalX[i] + s * parts.TrainTotalE[i];
            for (var c = 0; c < classes; c++)
                b[c * m + i] = (parts.ClassSumX[c * m + i] + s * parts.ClassSumE[c * m + i] - labels.TrainMean[c] * total) * inv;
            var x = parts.TestX[i];
            var e = parts.TestE[i];
            for (var t = 0; t < nTest; t++) test[i * nTest + t] = (x[t] + s * e[t]) * inv;
        }
        return new ClassifierSystem(fit, labels, b, test);
    }

    /// <summary>
    /// G of all sellers together, by one Cholesky factor of A + alpha I (dependent features left out as the walker
    /// leaves them), beta_c by back substitution and the held-out scores ybar_c + F beta_c: O(M^3 / 6 + C M nTest),
    /// where growing the walker one seller at a time costs O(M^2 nTest / 2). The revenue curve needs only this.
    /// </summary>
    public double FullGain()
    {
        const double dependencyTolerance = 1e-10;
        var m = Fit.Sellers;
        var classes = Labels.Classes.Length;
        var nTest = Labels.TestSize;
        var l = new double[m * m];
        var invDiag = new double[m];
        var members = new int[m];
        var k = 0;
        for (var j = 0; j < m; j++)
        {
            var a = Fit.A.AsSpan(j * m, m);
            var row = l.AsSpan(k * m, k + 1);
            var dot = 0.0;
            for (var r = 0; r < k; r++)
            {
                var v = (a[members[r]] - Kernels.Dot(l.AsSpan(r * m, r), row[..r])) * invDiag[r];
                row[r] = v;
                dot += v * v;
            }
            var diag = a[j] + Fit.Alpha;
            var pivot = diag - dot;
            if (!(pivot > dependencyTolerance * diag)) continue;
            row[k] = Math.Sqrt(pivot);
            invDiag[k] = 1.0 / row[k];
            members[k++] = j;
        }
        var scores = new double[classes * nTest];
        var z = new double[k];
        for (var c = 0; c < classes; c++)
        {
            for (var r = 0; r < k; r++) z[r] = (B[c * m + members[r]] - Kernels.Dot(l.AsSpan(r * m, r), z.AsSpan(0, r))) * invDiag[r];
            for (var r = k - 1; r >= 0; r--)
            {
                var beta = z[r] * invDiag[r];
                z[r] = beta;
                for (var q = 0; q < r; q++) z[q] -= l[r * m + q] * beta;
            }
            var sc = scores.AsSpan(c * nTest, nTest);
            sc.Fill(Labels.TrainMean[c]);
            for (var r = 0; r < k; r++) Kernels.SubtractScaled(sc, TestRows.AsSpan(members[r] * nTest, nTest), -z[r]);
        }
        var nTrain = Labels.TrainSize;
        var hits = 0;
        for (var t = 0; t < nTest; t++)
        {
            var best = 0;
            for (var c = 1; c < classes; c++)
                if (scores[c * nTest + t] > scores[best * nTest + t]) best = c;
            if (best == Labels.Index[nTrain + t]) hits++;
        }
        return Classification.Gain((double)hits / nTest, Labels.Base);
    }

    /// <summary><paramref name="centred"/>: each seller's allocated series at this level minus its training mean (the fit's centring).</summary>
    public static ClassifierSystem Build(GainSystem fit, IReadOnlyList<double[]> centred, ClassLabels labels)
    {
        var m = fit.Sellers;
        var classes = labels.Classes.Length;
        var nTrain = labels.TrainSize;
        var nTest = labels.TestSize;
        var b = new double[classes * m];
        var test = new double[m * nTest];
        var sums = new double[classes];
        for (var i = 0; i < m; i++)
        {
            var f = centred[i];
            var inv = fit.InvScale[i];
            Array.Clear(sums);
            var total = 0.0;
            for (var t = 0; t < nTrain; t++)
            {
                sums[labels.Index[t]] += f[t];
                total += f[t];
            }
            // sum_t f(t) (y_c(t) - ybar_c) over the training part; the total is 0 up to rounding (f is centred on it).
            for (var c = 0; c < classes; c++) b[c * m + i] = (sums[c] - labels.TrainMean[c] * total) * inv;
            for (var t = 0; t < nTest; t++) test[i * nTest + t] = f[nTrain + t] * inv;
        }
        return new ClassifierSystem(fit, labels, b, test);
    }
}

/// <summary>
/// What the classifier needs from the sellers' series and the noise E of one task, for every noise level s: the held-out
/// parts of X and E centred on their training means, and their sums over each class's training steps and over all of them.
/// </summary>
internal sealed class NoiseParts
{
    public NoiseParts(FeatureSet sellers, NoiseMatrix noise, TaskMoments moments, ClassLabels labels)
    {
        var m = sellers.Sellers;
        var classes = labels.Classes.Length;
        var nTrain = labels.TrainSize;
        var nTest = labels.TestSize;
        TestX = new double[m][];
        TestE = new double[m][];
        ClassSumX = new double[classes * m];
        ClassSumE = new double[classes * m];
        TrainTotalX = new double[m];
        TrainTotalE = new double[m];
        for (var i = 0; i < m; i++)
        {
            var x = sellers.Row(i);
            var e = noise.Row(i);
            var (mx, me) = (moments.TrainMeanX[i], moments.TrainMeanE[i]);
            for (var t = 0; t < nTrain; t++)
            {
                var c = labels.Index[t];
                ClassSumX[c * m + i] += x[t] - mx;
                ClassSumE[c * m + i] += e[t] - me;
                TrainTotalX[i] += x[t] - mx;
                TrainTotalE[i] += e[t] - me;
            }
            TestX[i] = new double[nTest];
            TestE[i] = new double[nTest];
            for (var t = 0; t < nTest; t++)
            {
                TestX[i][t] = x[nTrain + t] - mx;
                TestE[i][t] = e[nTrain + t] - me;
            }
        }
    }

    public double[][] TestX { get; }
    public double[][] TestE { get; }
    public double[] ClassSumX { get; }
    public double[] ClassSumE { get; }
    public double[] TrainTotalX { get; }
    public double[] TrainTotalE { get; }
}

/// <summary>A game whose coalition grows and shrinks one seller at a time (exact Shapley walks all coalitions depth first).</summary>
internal interface IGrowingCoalition : ICoalitionGame
{
    /// <summary>Adds seller j; false when its feature is linearly dependent on the coalition and so left out of the fit.</summary>
    bool Push(int j);

    /// <summary>Removes the most recently pushed seller (only after a Push that returned true).</summary>
    void Pop();

    /// <summary>G of the current coalition.</summary>
    double Gain();
}

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
