namespace DataExchange.Mechanism;

/// <summary>
/// Classification tasks (Remark 2.2: the gain is measured by accuracy instead of RMSE). The buyer's target holds class
/// labels; the model is least-squares one-vs-rest: for each class c, ridge (with intercept, on the standardised features,
/// the regression's own normal equations) on the indicator 1[label = c], and a held-out step is predicted as the class
/// with the largest score (ties to the smallest label). Every class shares the Gram matrix A, so a fit is one Cholesky
/// factor and one triangular solve per class (README, "Speed").
/// G = max(0, (acc - base) / (1 - base)) on the held-out part, acc the classifier's accuracy and base the accuracy of
/// predicting the training part's majority class (the empty coalition, whose scores are the class frequencies): a perfect
/// classifier scores 1, the empty coalition 0. When base = 1 (the held-out part is all the majority class) G = 0.
/// </summary>
public static class Classification
{
    /// <summary>Most classes a target may have (each class is one more solve per fit and one more score per held-out step).</summary>
    public const int MaxClasses = 50;

    /// <summary>Largest |label| accepted: labels are integers, exactly representable as doubles and as ints.</summary>
    public const double MaxLabel = 1_000_000_000;

    /// <summary>G from an accuracy and the majority-class baseline (see the class summary).</summary>
    public static double Gain(double accuracy, double baseAccuracy) =>
        baseAccuracy >= 1.0 ? 0.0 : Math.Clamp((accuracy - baseAccuracy) / (1.0 - baseAccuracy), 0.0, 1.0);

    /// <summary>
    /// Why <paramref name="labels"/> cannot be a classification target, as (index or -1 for the whole series, reason), or
    /// null when it can: every value a finite integer of at most <see cref="MaxLabel"/> in size, two to
    /// <see cref="MaxClasses"/> distinct classes.
    /// </summary>
    public static (int Index, string Reason)? LabelProblem(ReadOnlySpan<double> labels)
    {
        var classes = new HashSet<double>();
        for (var t = 0; t < labels.Length; t++)
        {
            var v = labels[t];
            if (!double.IsFinite(v)) return (t, $"is {v}, not a class label (an integer)");
            if (v != Math.Floor(v)) return (t, $"is {v}, not a class label (an integer)");
            if (Math.Abs(v) > MaxLabel) return (t, $"is {v}; class labels lie in [-{MaxLabel:0}, {MaxLabel:0}]");
            classes.Add(v == 0 ? 0.0 : v);
        }
        if (classes.Count < 2) return (-1, $"has {classes.Count} class{(classes.Count == 1 ? "" : "es")}; a classification target needs two or more");
        if (classes.Count > MaxClasses) return (-1, $"has {classes.Count} classes; at most {MaxClasses} are accepted");
        return null;
    }
}
