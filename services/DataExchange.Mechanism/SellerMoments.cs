namespace DataExchange.Mechanism;

/// <summary>
/// What a task's moments need from the sellers alone for one train/test split: their training means, centred series
/// and X X' over each part. The same for every buyer and every noise draw, so a feature set computes it once.
/// Read-only once built (tasks share it).
/// </summary>
internal sealed class SellerMoments
{
    public required int TrainLength { get; init; }
    public required double[] TrainMeans { get; init; }
    public required double[][] Centred { get; init; }
    public required double[] TrainGram { get; init; }
    public required double[] TestGram { get; init; }

    public static SellerMoments Compute(FeatureSet sellers, int nTrain, int threads = 1)
    {
        var m = sellers.Sellers;
        var mean = new double[m];
        var x = new double[m][];
        for (var i = 0; i < m; i++)
        {
            mean[i] = Kernels.Mean(sellers.Row(i)[..nTrain]);
            x[i] = TaskMoments.Centre(sellers.Row(i), mean[i]);
        }
        return new SellerMoments
        {
            TrainLength = nTrain,
            TrainMeans = mean,
            Centred = x,
            TrainGram = GramBlocks.Symmetric(x, 0, nTrain, threads),
            TestGram = GramBlocks.Symmetric(x, nTrain, sellers.Steps - nTrain, threads),
        };
    }
}
