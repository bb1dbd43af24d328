using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// Independent reference implementations the library is checked against. Nothing here uses the library's
/// Gram matrices or Cholesky walker: features are materialised, standardised and fitted with MathNet's QR / SVD.
/// </summary>
internal static class Reference
{
    /// <summary>
    /// Held-out predictions of a linear model with intercept on the given rows (sellers x steps), trained on
    /// [0, nTrain) and predicting [nTrain, T). Each column is standardised with its TRAINING mean and population std
    /// (ddof = 0); a constant column becomes all zeros. Ridge (alpha &gt; 0) is solved by QR on the augmented system
    /// [Z; sqrt(alpha) I] beta = [y - ybar; 0] (intercept unpenalised); OLS (alpha = 0) by SVD min-norm least squares.
    /// </summary>
    public static double[] Predict(double[][] rows, IReadOnlyList<int> coalition, double[] y, int nTrain, double alpha)
    {
        var steps = y.Length;
        var nTest = steps - nTrain;
        var yBar = 0.0;
        for (var t = 0; t < nTrain; t++) yBar += y[t];
        yBar /= nTrain;
        var predictions = Enumerable.Repeat(yBar, nTest).ToArray();
        var k = coalition.Count;
        if (k == 0) return predictions;

        var train = Matrix<double>.Build.Dense(nTrain, k);
        var test = Matrix<double>.Build.Dense(nTest, k);
        for (var j = 0; j < k; j++)
        {
            var x = rows[coalition[j]];
            var mean = 0.0;
            for (var t = 0; t < nTrain; t++) mean += x[t];
            mean /= nTrain;
            var variance = 0.0;
            for (var t = 0; t < nTrain; t++) variance += (x[t] - mean) * (x[t] - mean);
            variance /= nTrain;
            var sd = Math.Sqrt(variance);
            var inv = sd > 1e-12 * Math.Max(1.0, Math.Abs(mean)) ? 1.0 / sd : 0.0;
            for (var t = 0; t < nTrain; t++) train[t, j] = (x[t] - mean) * inv;
            for (var t = 0; t < nTest; t++) test[t, j] = (x[nTrain + t] - mean) * inv;
        }
        var yc = Vector<double>.Build.Dense(nTrain, t => y[t] - yBar);

        Vector<double> beta;
        if (alpha > 0)
        {
            var augmented = Matrix<double>.Build.Dense(nTrain + k, k);
            augmented.SetSubMatrix(0, 0, train);
            for (var j = 0; j < k; j++) augmented[nTrain + j, j] = Math.Sqrt(alpha);
            var rhs = Vector<double>.Build.Dense(nTrain + k);
            rhs.SetSubVector(0, nTrain, yc);
            beta = augmented.QR().Solve(rhs);
        }
        else
        {
            beta = MinNormLeastSquares(train, yc);
        }
        var fitted = test * beta;
        for (var t = 0; t < nTest; t++) predictions[t] += fitted[t];
        return predictions;
    }

    /// <summary>
    /// The interventional game from scratch: the ridge fit on ALL rows (standardised as in <see cref="Predict"/>, solved
    /// by QR), then for each coalition the held-out predictions ybar + sum_{j in S} beta_j z_j with no refit; returns
    /// the held-out sum of squared errors of every coalition (bit mask) and R0 = SSE of the empty one.
    /// </summary>
    public static double[] InterventionalSse(double[][] rows, double[] y, int nTrain, double alpha)
    {
        var m = rows.Length;
        var steps = y.Length;
        var nTest = steps - nTrain;
        var yBar = y.Take(nTrain).Average();
        var train = Matrix<double>.Build.Dense(nTrain, m);
        var test = Matrix<double>.Build.Dense(nTest, m);
        for (var j = 0; j < m; j++)
        {
            var x = rows[j];
            var mean = x.Take(nTrain).Average();
            var sd = Math.Sqrt(x.Take(nTrain).Sum(v => (v - mean) * (v - mean)) / nTrain);
            var inv = sd > 1e-12 * Math.Max(1.0, Math.Abs(mean)) ? 1.0 / sd : 0.0;
            for (var t = 0; t < nTrain; t++) train[t, j] = (x[t] - mean) * inv;
            for (var t = 0; t < nTest; t++) test[t, j] = (x[nTrain + t] - mean) * inv;
        }
        var augmented = Matrix<double>.Build.Dense(nTrain + m, m);
        augmented.SetSubMatrix(0, 0, train);
        for (var j = 0; j < m; j++) augmented[nTrain + j, j] = Math.Sqrt(alpha);
        var rhs = Vector<double>.Build.Dense(nTrain + m);
        for (var t = 0; t < nTrain; t++) rhs[t] = y[t] - yBar;
        var beta = augmented.QR().Solve(rhs);
        var sse = new double[1 << m];
        for (var mask = 0; mask < sse.Length; mask++)
        {
            var total = 0.0;
            for (var t = 0; t < nTest; t++)
            {
                var prediction = yBar;
                for (var j = 0; j < m; j++)
                    if ((mask & (1 << j)) != 0) prediction += beta[j] * test[t, j];
                total += (y[nTrain + t] - prediction) * (y[nTrain + t] - prediction);
            }
            sse[mask] = total;
        }
        return sse;
    }

    /// <summary>
    /// Min-norm least squares from MathNet's SVD. Singular values below 1e-10 of the largest are treated as zero
    /// (as numpy's lstsq rcond does): MathNet's Svd().Solve divides by every nonzero singular value, and an exactly
    /// duplicated column in floating point has one of about 1e-16, not 0.
    /// </summary>
    public static Vector<double> MinNormLeastSquares(Matrix<double> a, Vector<double> b)
    {
        var svd = a.Svd(computeVectors: true);
        var s = svd.S;
        var u = svd.U;
        var vt = svd.VT;
        var cutoff = 1e-10 * s.Maximum();
        var x = Vector<double>.Build.Dense(a.ColumnCount);
        for (var i = 0; i < s.Count; i++)
        {
            if (!(s[i] > cutoff)) continue;
            var coefficient = u.Column(i).DotProduct(b) / s[i];
            x += coefficient * vt.Row(i);
        }
        return x;
    }

    /// <summary>G on the held-out part: 1 - RMSE / (max - min) or R^2, clipped to [0, 1]; 0 when the scale is 0.</summary>
    public static double Gain(ReadOnlySpan<double> yTest, IReadOnlyList<double> predictions, GainKind kind)
    {
        var n = yTest.Length;
        var sse = 0.0;
        for (var t = 0; t < n; t++) sse += (yTest[t] - predictions[t]) * (yTest[t] - predictions[t]);
        double g;
        if (kind == GainKind.RSquared)
        {
            var mean = 0.0;
            foreach (var v in yTest) mean += v;
            mean /= n;
            var ssTot = 0.0;
            foreach (var v in yTest) ssTot += (v - mean) * (v - mean);
            g = ssTot > 0 ? 1.0 - sse / ssTot : 0.0;
        }
        else
        {
            var max = double.NegativeInfinity;
            var min = double.PositiveInfinity;
            foreach (var v in yTest)
            {
                max = Math.Max(max, v);
                min = Math.Min(min, v);
            }
            var range = max - min;
            g = range > 0 ? 1.0 - Math.Sqrt(sse / n) / range : 0.0;
        }
        return Math.Clamp(g, 0.0, 1.0);
    }

    /// <summary>Gain of a coalition by the reference fit on materialised features.</summary>
    public static double CoalitionGain(double[][] rows, IReadOnlyList<int> coalition, double[] y, int nTrain, MarketParameters p)
        => Gain(y.AsSpan(nTrain), Predict(rows, coalition, y, nTrain, p.RidgeAlpha), p.Gain);

    /// <summary>Members of a bit mask, ascending.</summary>
    public static int[] Members(int mask, int sellers)
    {
        var list = new List<int>();
        for (var j = 0; j < sellers; j++)
            if ((mask & (1 << j)) != 0) list.Add(j);
        return list.ToArray();
    }

    /// <summary>Gain of a coalition through the library's walker, pushing members in ascending order.</summary>
    public static double WalkerGain(GainSystem system, IReadOnlyList<int> coalition)
    {
        var walker = new CoalitionWalker(system);
        foreach (var j in coalition) walker.Push(j);
        return walker.Gain();
    }

    /// <summary>v(S) for every mask through the library's walker (independent of Shapley.Exact's traversal).</summary>
    public static double[] WalkerGainTable(GainSystem system, int sellers)
    {
        var table = new double[1 << sellers];
        for (var mask = 0; mask < table.Length; mask++) table[mask] = WalkerGain(system, Members(mask, sellers));
        return table;
    }

    /// <summary>Brute-force Shapley from a gain table: phi_j = sum_S |S|! (M-|S|-1)! / M! (v(S + j) - v(S)).</summary>
    public static double[] BruteShapley(IReadOnlyList<double> v, int sellers)
    {
        var factorial = new double[sellers + 1];
        factorial[0] = 1;
        for (var i = 1; i <= sellers; i++) factorial[i] = factorial[i - 1] * i;
        var phi = new double[sellers];
        for (var j = 0; j < sellers; j++)
        {
            for (var mask = 0; mask < 1 << sellers; mask++)
            {
                if ((mask & (1 << j)) != 0) continue;
                var size = System.Numerics.BitOperations.PopCount((uint)mask);
                var weight = factorial[size] * factorial[sellers - size - 1] / factorial[sellers];
                phi[j] += weight * (v[mask | (1 << j)] - v[mask]);
            }
        }
        return phi;
    }

    /// <summary>
    /// A random task: sellers driven by 3 latent factors with very different scales and offsets (so standardising
    /// matters), target a sparse combination plus noise.
    /// </summary>
    public static (FeatureSet Sellers, double[] Target) RandomTask(SeededRandom rng, int sellers, int steps, double targetNoise = 0.3)
    {
        var latent = new double[3][];
        for (var f = 0; f < 3; f++)
        {
            latent[f] = new double[steps];
            Normal.Samples(rng, latent[f], 0, 1);
        }
        var rows = new double[sellers][];
        for (var m = 0; m < sellers; m++)
        {
            var scale = Math.Exp(2 * rng.NextDouble() - 1);
            var offset = 10 * rng.NextDouble() - 5;
            var row = new double[steps];
            Normal.Samples(rng, row, 0, 0.5);
            var w = new double[3];
            Normal.Samples(rng, w, 0, 1);
            for (var t = 0; t < steps; t++)
            {
                for (var f = 0; f < 3; f++) row[t] += w[f] * latent[f][t];
                row[t] = offset + scale * row[t];
            }
            rows[m] = row;
        }
        var y = new double[steps];
        Normal.Samples(rng, y, 0, targetNoise);
        for (var m = 0; m < sellers; m++)
        {
            if (rng.NextDouble() < 0.4) continue;
            var c = Normal.Sample(rng, 0, 1);
            for (var t = 0; t < steps; t++) y[t] += c * rows[m][t];
        }
        return (Sellers(rows), y);
    }

    public static FeatureSet Sellers(double[][] rows)
        => new(Enumerable.Range(0, rows.Length).Select(i => $"s{i}").ToArray(), rows);

    public static double[][] Rows(FeatureSet sellers)
        => Enumerable.Range(0, sellers.Sellers).Select(m => sellers.Row(m).ToArray()).ToArray();

    public static TaskGains Gains(FeatureSet sellers, double[] y, NoiseMatrix noise, MarketParameters p)
        => new(TaskMoments.Compute(sellers, y, noise, p), p);
}
