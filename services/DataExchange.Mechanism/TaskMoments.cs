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
        // The target's checks, centring and held-out sums are the ones every allocation uses.
        var y = TargetMoments.Compute(target, steps, parameters.TrainFraction);
        if (noise.Sellers != m || noise.Steps != steps)
            throw new ArgumentException($"noise is {noise.Sellers}x{noise.Steps}, expected {m}x{steps}.", nameof(noise));
        var nTrain = y.TrainSize;
        var nTest = y.TestSize;

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
        var train = GramBlocks.Compute(x, e, y.Centred, 0, nTrain, own.TrainGram, threads);
        var test = GramBlocks.Compute(x, e, y.Centred, nTrain, nTest, own.TestGram, threads);
        return new TaskMoments(m, nTrain, nTest, train, test, y.TestTargetSquares, y.TestTargetSum, y.TestTargetRange, y.TrainMean,
            own.TrainMeans, meanE);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double[] Centre(ReadOnlySpan<double> values, double mean)
    {
        var result = new double[values.Length];
        for (var t = 0; t < values.Length; t++) result[t] = values[t] - mean;
        return result;
    }
}
