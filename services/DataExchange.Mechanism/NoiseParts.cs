namespace DataExchange.Mechanism;

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
        TestSellerValues = new double[m][];
        TestNoiseValues = new double[m][];
        ClassSellerSums = new double[classes * m];
        ClassNoiseSums = new double[classes * m];
        TrainSellerTotals = new double[m];
        TrainNoiseTotals = new double[m];
        for (var i = 0; i < m; i++)
        {
            var x = sellers.Row(i);
            var e = noise.Row(i);
            var (mx, me) = (moments.TrainSellerMeans[i], moments.TrainNoiseMeans[i]);
            for (var t = 0; t < nTrain; t++)
            {
                var c = labels.Index[t];
                ClassSellerSums[c * m + i] += x[t] - mx;
                ClassNoiseSums[c * m + i] += e[t] - me;
                TrainSellerTotals[i] += x[t] - mx;
                TrainNoiseTotals[i] += e[t] - me;
            }
            TestSellerValues[i] = new double[nTest];
            TestNoiseValues[i] = new double[nTest];
            for (var t = 0; t < nTest; t++)
            {
                TestSellerValues[i][t] = x[nTrain + t] - mx;
                TestNoiseValues[i][t] = e[nTrain + t] - me;
            }
        }
    }

    public double[][] TestSellerValues { get; }
    public double[][] TestNoiseValues { get; }
    public double[] ClassSellerSums { get; }
    public double[] ClassNoiseSums { get; }
    public double[] TrainSellerTotals { get; }
    public double[] TrainNoiseTotals { get; }
}
