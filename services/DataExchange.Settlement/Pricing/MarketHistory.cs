namespace DataExchange.Settlement;

/// <summary>
/// A market (pricing schema): its price grid, the number of updates PF* has made, the weights and mean price after the
/// latest, and the revenue so far. Its history, update by update: PriceUpdate.
/// </summary>
public sealed class MarketHistory
{
    public string Id { get; set; } = "";
    public double[] Prices { get; set; } = [];
    public DateTimeOffset? OpenedAt { get; set; }
    public decimal Revenue { get; set; }
    public long Updates { get; set; }
    public double MeanPrice { get; set; }
    public double[] Weights { get; set; } = [];
    public DateTimeOffset? LastUpdatedAt { get; set; }
}
