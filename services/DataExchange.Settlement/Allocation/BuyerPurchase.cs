using DataExchange.Contracts;

namespace DataExchange.Settlement;

/// <summary>
/// What a buyer bought with one task (allocation schema; one per task stream): the gain of its predictions, how many,
/// and the charge. A buyer's account is the sum of its purchases (query by BuyerId).
/// </summary>
public sealed class BuyerPurchase
{
    public string Id { get; set; } = "";
    public Guid TaskId { get; set; }
    public string BuyerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Gain { get; set; }
    public int PredictionsDelivered { get; set; }
    public decimal Charge { get; set; }
    public double Price { get; set; }
    public double Bid { get; set; }
    /// <summary>Null until the task's PaymentCharged is applied.</summary>
    public DateTimeOffset? ChargedAt { get; set; }
}
