namespace DataExchange.Mechanism;

/// <summary>
/// What the payout rule and the decimal split decide for one task's charge: the sellers' Shapley values (PD_A*, or the
/// interventional game's for that rule), their shares psi = max(0, phi) / sum max(0, phi), the shares the charge is
/// split by (PD_B*'s for the paper, renormalised and thresholded rules; the shares themselves for the interventional
/// rule) and the split.
/// </summary>
public sealed record SettlementOutcome(
    ShapleyEstimate Shapley,
    double[] Shares,
    double[] RobustShares,
    PayoutSplit Split);
