namespace DataExchange.Mechanism;

/// <summary>One mask's allocated features: centred rows (masked steps 0), the kept training means, X X' over each part.</summary>
internal sealed class SampledLevel(double[][] centred, double[] trainMeans, double[] trainGram, double[] testGram)
{
    private TaskMoments? _moments;

    public double[][] Centred { get; } = centred;
    public double[] TrainMeans { get; } = trainMeans;
    public double[] TrainGram { get; } = trainGram;
    public double[] TestGram { get; } = testGram;

    /// <summary>The task's moments for this mask, in the noise path's form with s = 0 (no E): GainSystem.Build(moments, 0) fits on it.</summary>
    public TaskMoments Moments(TargetMoments y)
    {
        if (_moments is { } cached) return cached;
        var m = Centred.Length;
        var zeros = new double[m * m];
        var zeroVector = new double[m];
        GramBlocks Part(int start, int length, double[] xx)
        {
            var xy = new double[m];
            for (var i = 0; i < m; i++) xy[i] = Kernels.Dot(Centred[i].AsSpan(start, length), y.Centred.AsSpan(start, length));
            return new GramBlocks { SellerGram = xx, CrossGram = zeros, NoiseGram = zeros, SellerTarget = xy, NoiseTarget = zeroVector };
        }
        return _moments = new TaskMoments(m, y.TrainSize, y.TestSize, Part(0, y.TrainSize, TrainGram), Part(y.TrainSize, y.TestSize, TestGram),
            y.TestTargetSquares, y.TestTargetSum, y.TestTargetRange, y.TrainMean, TrainMeans, zeroVector);
    }
}
