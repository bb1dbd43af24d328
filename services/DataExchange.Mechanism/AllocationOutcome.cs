namespace DataExchange.Mechanism;

/// <summary>What AF*, the model, G and RF* decide for one task at its quoted price.</summary>
public sealed record AllocationOutcome(
    double Price,
    int PriceIndex,
    double Bid,
    double NoiseScale,
    double Gain,
    double Revenue,
    decimal Charge,
    double[] RevenueCurve,
    int PredictionStart,
    double[] Predictions);
