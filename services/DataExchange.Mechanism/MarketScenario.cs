namespace DataExchange.Mechanism;

/// <summary>A market of sellers and buyers, generated or loaded.</summary>
public sealed record MarketScenario(FeatureSet Sellers, IReadOnlyList<SyntheticBuyer> Buyers);
