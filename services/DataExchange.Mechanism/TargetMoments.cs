namespace DataExchange.Mechanism;

/// <summary>
/// The buyer's target as TaskMoments uses it (validated the same way): centred by its training mean, and the held-out
/// sums G needs; TaskMoments builds on it, and the allocations that have no noise matrix use it alone.
/// </summary>
internal sealed class TargetMoments
{
    public required int TrainSize { get; init; }
    public required int TestSize { get; init; }
    public required double[] Centred { get; init; }
    public required double TrainMean { get; init; }
    public required double TestTargetSquares { get; init; }
    public required double TestTargetSum { get; init; }
    public required double TestTargetRange { get; init; }

    public static TargetMoments Compute(ReadOnlySpan<double> target, int steps, double trainFraction)
    {
        if (target.Length != steps)
            throw new ArgumentException($"target has {target.Length} values, expected {steps} (the sellers' series length).", nameof(target));
        for (var t = 0; t < steps; t++)
            if (!double.IsFinite(target[t]))
                throw new ArgumentException($"target[{t}] is {target[t]}, not a finite number.", nameof(target));
        var nTrain = TaskMoments.TrainLength(steps, trainFraction);
        var nTest = steps - nTrain;
        if (nTrain < 2 || nTest < 2)
            throw new ArgumentException($"target has {steps} values: too short to train on {trainFraction:P0} and score on the rest (need at least 2 of each).", nameof(target));
        var yMean = Kernels.Mean(target[..nTrain]);
        var y = TaskMoments.Centre(target, yMean);
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
        return new TargetMoments
        {
            TrainSize = nTrain, TestSize = nTest, Centred = y, TrainMean = yMean, TestTargetSquares = Kernels.Dot(testY, testY),
            TestTargetSum = testYSum, TestTargetRange = max - min,
        };
    }
}
