using DataExchange.Contracts;

namespace DataExchange.Settlement;

/// <summary>
/// PF* after one task (pricing schema; one per MarketPriceUpdated, id = the task's id): the weights and mean price after
/// the update, the task's quoted price and its revenue (its charge).
/// </summary>
public sealed class PriceUpdate
{
    public string Id { get; set; } = "";
    public string MarketId { get; set; } = "";
    public Guid TaskId { get; set; }
    public long Updates { get; set; }
    public double MeanPrice { get; set; }
    public decimal? Charge { get; set; }
    public double? Price { get; set; }
    public double[] Weights { get; set; } = [];
    public DateTimeOffset UpdatedAt { get; set; }
}
