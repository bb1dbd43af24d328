using DataExchange.Settlement;

namespace DataExchange.Reports;

/// <summary>A buyer's line over the report's tasks (settled in the period, or charged and unsettled): how many, the amount
/// charged (allocation's log), the gain bought (sum of G) and predictions delivered.</summary>
public sealed record BuyerLine(string BuyerId, int Tasks, decimal Charged, double GainBought, int PredictionsDelivered)
{
    /// <summary>A buyer's account over some purchases: their sum, in task-id order (the gain's double sum then does not
    /// depend on the order a query returned them in).</summary>
    public static BuyerLine Of(string buyerId, IEnumerable<BuyerPurchase> purchases)
    {
        var mine = purchases.Where(p => p.BuyerId == buyerId).OrderBy(p => p.TaskId).ToList();
        return new BuyerLine(buyerId, mine.Count, mine.Sum(p => p.Charge), mine.Sum(p => p.Gain), mine.Sum(p => p.PredictionsDelivered));
    }
}
