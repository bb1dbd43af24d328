namespace DataExchange.Mechanism;

/// <summary>Shapley values of the sellers for one task's gain, and how many permutations estimated them (0 when exact).</summary>
public sealed record ShapleyEstimate(double[] Values, int Permutations)
{
    /// <summary>The sampling work in whole-permutation walks (a walk to depth D counts about (D / M)^3 of one); 0 when not measured.</summary>
    internal double Work { get; init; }

    /// <summary>psi = max(0, phi) / sum(max(0, phi)): balanced shares; negative estimates pay nothing (all zero when none is positive).</summary>
    public double[] Shares() => Shapley.Shares(Values);
}
