namespace DataExchange.Mechanism;

/// <summary>How the gain G of a prediction is measured on the held-out part of the series.</summary>
public enum GainKind
{
    /// <summary>Paper default (footnote 3): G = max(0, 1 - RMSE / (max Y_test - min Y_test)).</summary>
    NormalisedRmse,
    /// <summary>R^2 on the held-out part, clipped to [0, 1].</summary>
    RSquared,
}
