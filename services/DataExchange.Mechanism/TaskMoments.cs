using System.Runtime.CompilerServices;

namespace DataExchange.Mechanism;

/// <summary>
/// Everything the linear model needs from one task, reduced to small Gram matrices (README, "Speed").
/// With Z = [X_1..X_M, E_1..E_M] centred by the training means, the features allocated at noise level s are
/// X + sE, so their Gram matrix is XX' + s(XE' + EX') + s^2 EE' on either part of the series. A fit then costs
/// O(k^3) and a held-out error O(k^2), independent of T.
/// Centring first is exact for a model with an intercept and keeps the sums of squares well conditioned.
/// </summary>
public sealed class TaskMoments
{
    internal TaskMoments(int sellers, int trainSize, int testSize, GramBlocks train, GramBlocks test,
        double testYy, double testYSum, double testRange, double trainYMean, double[] trainMeanX, double[] trainMeanE)
    {
        Sellers = sellers;
        TrainSize = trainSize;
        TestSize = testSize;
        Train = train;
        Test = test;
        TestTargetSquares = testYy;
        TestTargetSum = testYSum;
        TestTargetRange = testRange;
        TrainTargetMean = trainYMean;
        TrainSellerMeans = trainMeanX;
        TrainNoiseMeans = trainMeanE;
    }

    public int Sellers { get; }
    public int TrainSize { get; }
    public int TestSize { get; }
    internal GramBlocks Train { get; }
    internal GramBlocks Test { get; }
    internal double TestTargetSquares { get; }        // sum of (y - ybar_train)^2 over the held-out part
    internal double TestTargetSum { get; }      // sum of (y - ybar_train) over the held-out part
    internal double TestTargetRange { get; }     // max - min of Y on the held-out part
    internal double TrainTargetMean { get; }
    internal double[] TrainSellerMeans { get; }
    internal double[] TrainNoiseMeans { get; }

    /// <summary>Index of the first held-out step: the model trains on [0, split) and is scored on [split, T).</summary>
    public static int TrainLength(int steps, double trainFraction) => (int)Math.Floor(trainFraction * steps);

    public static TaskMoments Compute(FeatureSet sellers, ReadOnlySpan<double> target, NoiseMatrix noise, MarketParameters parameters)
        => Compute(sellers, target, noise, parameters, useSellerCache: true);

    /// <summary>
    /// <paramref name="useSellerCache"/>: take the sellers' centred series and their own Gram blocks X X' from the
    /// feature set's cache (<see cref="FeatureSet.Moments"/>), computed once by the same code as here, so every number is
    /// bit for bit what the uncached path computes (a test holds them equal); they do not depend on the buyer or the noise.
    /// </summary>
    internal static TaskMoments Compute(FeatureSet sellers, ReadOnlySpan<double> target, NoiseMatrix noise, MarketParameters parameters,
        bool useSellerCache)
    {
        var m = sellers.Sellers;
        var steps = sellers.Steps;
        if (target.Length != steps)
            throw new ArgumentException($"target has {target.Length} values, expected {steps} (the sellers' series length).", nameof(target));
        if (noise.Sellers != m || noise.Steps != steps)
            throw new ArgumentException($"noise is {noise.Sellers}x{noise.Steps}, expected {m}x{steps}.", nameof(noise));
        for (var t = 0; t < steps; t++)
            if (!double.IsFinite(target[t]))
                throw new ArgumentException($"target[{t}] is {target[t]}, not a finite number.", nameof(target));
        var nTrain = TrainLength(steps, parameters.TrainFraction);
        var nTest = steps - nTrain;
        if (nTrain < 2 || nTest < 2)
            throw new ArgumentException($"target has {steps} values: too short to train on {parameters.TrainFraction:P0} and score on the rest (need at least 2 of each).", nameof(target));

        var threads = ParallelWork.Threads(parameters, m);
        var own = useSellerCache ? sellers.Moments(nTrain, threads) : SellerMoments.Compute(sellers, nTrain, threads);
        var x = own.Centred;
        var e = new double[m][];
        var meanE = new double[m];
        ParallelWork.For(m, threads, (i, _) =>
        {
            meanE[i] = Kernels.Mean(noise.Row(i)[..nTrain]);
            e[i] = Centre(noise.Row(i), meanE[i]);
        });
        var yMean = Kernels.Mean(target[..nTrain]);
        var y = Centre(target, yMean);
        var train = GramBlocks.Compute(x, e, y, 0, nTrain, own.TrainGram, threads);
        var test = GramBlocks.Compute(x, e, y, nTrain, nTest, own.TestGram, threads);
        var testY = y.AsSpan(nTrain);
        var testYSum = 0.0;
        foreach (var v in testY) testYSum += v;
        var max = double.NegativeInfinity;
        var min = double.PositiveInfinity;
        foreach (var v in target[nTrain..])
        {
            if (v > max) max = v;
            if (v < min) min = v;
        }
        return new TaskMoments(m, nTrain, nTest, train, test, Kernels.Dot(testY, testY), testYSum, max - min, yMean, own.TrainMeans, meanE);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double[] Centre(ReadOnlySpan<double> values, double mean)
    {
        var result = new double[values.Length];
        for (var t = 0; t < values.Length; t++) result[t] = values[t] - mean;
        return result;
    }
}
