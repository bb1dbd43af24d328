namespace DataExchange.Mechanism;

/// <summary>One mask's allocated features: centred rows (masked steps 0), the kept training means, X X' over each part.</summary>
internal sealed class SampledLevel(double[][] centred, double[] mean, double[] trainXx, double[] testXx)
{
    private TaskMoments? _moments;

    public double[][] Centred { get; } = centred;
    public double[] Mean { get; } = mean;
    public double[] TrainXx { get; } = trainXx;
    public double[] TestXx { get; } = testXx;

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
            return new GramBlocks { Xx = xx, Cross = zeros, Ee = zeros, Xy = xy, Ey = zeroVector };
        }
        return _moments = new TaskMoments(m, y.TrainSize, y.TestSize, Part(0, y.TrainSize, TrainXx), Part(y.TrainSize, y.TestSize, TestXx),
            y.TestYy, y.TestYSum, y.TestRange, y.TrainMean, Mean, zeroVector);
    }
}
