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
