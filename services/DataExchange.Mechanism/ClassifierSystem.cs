namespace DataExchange.Mechanism;

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
        ClassTargetProducts = b;
        TestFeatures = testRows;
    }

    public GainSystem Fit { get; }
    public ClassLabels Labels { get; }
    /// <summary>ClassTargetProducts[c M + m]: class c's right-hand side for seller m.</summary>
    public double[] ClassTargetProducts { get; }
    /// <summary>TestFeatures[m nTest + t]: seller m's allocated feature at held-out step t, centred and standardised as the fit's.</summary>
    public double[] TestFeatures { get; }

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
            var inv = fit.InverseScale[i];
            var total = parts.TrainSellerTotals[i] + s * parts.TrainNoiseTotals[i];
            for (var c = 0; c < classes; c++)
                b[c * m + i] = (parts.ClassSellerSums[c * m + i] + s * parts.ClassNoiseSums[c * m + i] - labels.TrainMean[c] * total) * inv;
            var x = parts.TestSellerValues[i];
            var e = parts.TestNoiseValues[i];
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
            var a = Fit.TrainGram.AsSpan(j * m, m);
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
            for (var r = 0; r < k; r++) z[r] = (ClassTargetProducts[c * m + members[r]] - Kernels.Dot(l.AsSpan(r * m, r), z.AsSpan(0, r))) * invDiag[r];
            for (var r = k - 1; r >= 0; r--)
            {
                var beta = z[r] * invDiag[r];
                z[r] = beta;
                for (var q = 0; q < r; q++) z[q] -= l[r * m + q] * beta;
            }
            var sc = scores.AsSpan(c * nTest, nTest);
            sc.Fill(Labels.TrainMean[c]);
            for (var r = 0; r < k; r++) Kernels.SubtractScaled(sc, TestFeatures.AsSpan(members[r] * nTest, nTest), -z[r]);
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
            var inv = fit.InverseScale[i];
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
