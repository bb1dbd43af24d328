namespace DataExchange.Mechanism;

/// <summary>A task's class labels: the classes (sorted label values), each step's class index, the training frequencies and the baseline.</summary>
internal sealed class ClassLabels
{
    public ClassLabels(ReadOnlySpan<double> labels, int trainSize)
    {
        if (Classification.LabelProblem(labels) is { } problem)
            throw new ArgumentException(problem.Index < 0 ? $"target {problem.Reason}." : $"target[{problem.Index}] {problem.Reason}.", "target");
        Classes = labels.ToArray().Select(v => v == 0 ? 0.0 : v).Distinct().Order().ToArray();
        var index = new int[labels.Length];
        for (var t = 0; t < labels.Length; t++) index[t] = Array.BinarySearch(Classes, labels[t] == 0 ? 0.0 : labels[t]);
        Index = index;
        TrainSize = trainSize;
        TestSize = labels.Length - trainSize;
        var counts = new int[Classes.Length];
        for (var t = 0; t < trainSize; t++) counts[index[t]]++;
        TrainMean = counts.Select(c => (double)c / trainSize).ToArray();
        Majority = 0;
        for (var c = 1; c < counts.Length; c++)
            if (counts[c] > counts[Majority]) Majority = c;
        var hits = 0;
        for (var t = trainSize; t < labels.Length; t++)
            if (index[t] == Majority) hits++;
        Base = (double)hits / TestSize;
    }

    public double[] Classes { get; }
    /// <summary>Class index of every step.</summary>
    public int[] Index { get; }
    public int TrainSize { get; }
    public int TestSize { get; }
    /// <summary>ybar_c: the share of the training steps in class c (the intercept of class c's indicator regression).</summary>
    public double[] TrainMean { get; }
    /// <summary>The training part's most frequent class (the smallest on a tie): the empty coalition's prediction.</summary>
    public int Majority { get; }
    /// <summary>The accuracy of always predicting the majority class on the held-out part.</summary>
    public double Base { get; }
}
