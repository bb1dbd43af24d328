namespace DataExchange.Mechanism;

/// <summary>A buyer of the synthetic market: its valuation mu (bids truthfully) and its target series.</summary>
public sealed record SyntheticBuyer(string Id, double Valuation, double[] Target);
