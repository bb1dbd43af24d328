namespace DataExchange.Mechanism;

/// <summary>What a buyer's target is (a market chooses one when it opens).</summary>
public enum TaskKind
{
    /// <summary>A series of numbers, predicted by ridge regression; G from the held-out RMSE (or R^2).</summary>
    Regression,

    /// <summary>
    /// Class labels (integers, two or more classes), predicted by least-squares one-vs-rest on the standardised features
    /// (Remark 2.2: accuracy instead of RMSE); G = max(0, (acc - base) / (1 - base)) on the held-out part (<see cref="Classification"/>).
    /// </summary>
    Classification,
}
