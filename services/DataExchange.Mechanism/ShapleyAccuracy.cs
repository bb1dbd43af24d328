namespace DataExchange.Mechanism;

/// <summary>A target accuracy for Monte-Carlo Shapley: max error below Epsilon with probability at least 1 - Delta (Thm 5.3).</summary>
public sealed record ShapleyAccuracy(double Epsilon, double Delta)
{
    public void Validate()
    {
        if (!(Epsilon > 0 && Epsilon < 1)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "Epsilon must lie in (0, 1).");
        if (!(Delta > 0 && Delta < 1)) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "Delta must lie in (0, 1).");
    }
}
