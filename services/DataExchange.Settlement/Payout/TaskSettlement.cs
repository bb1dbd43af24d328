using DataExchange.Contracts;

namespace DataExchange.Settlement;

/// <summary>
/// A task's settlement (payout schema; one per task stream): the charge and how it was split, with every payout.
/// Charge == PaidToSellers + Retained + Fee, exactly.
/// </summary>
public sealed class TaskSettlement
{
    public string Id { get; set; } = "";
    public Guid TaskId { get; set; }
    public string MarketId { get; set; } = "";
    public string BuyerId { get; set; } = "";
    public decimal Charge { get; set; }
    public decimal PaidToSellers { get; set; }
    public decimal Retained { get; set; }
    public decimal Fee { get; set; }
    public DateTimeOffset SubmittedAt { get; set; }
    public DateTimeOffset? SettledAt { get; set; }
    public SellerShare[] Payouts { get; set; } = [];

    public void Apply(TaskSettled e)
    {
        TaskId = e.TaskId;
        MarketId = e.MarketId;
        BuyerId = e.BuyerId;
        Charge = e.Charge;
        PaidToSellers = e.PaidToSellers;
        Retained = e.Retained;
        Fee = e.Fee;
        SubmittedAt = e.SubmittedAt;
        SettledAt = e.SettledAt;
        Payouts = e.Payouts ?? [];
    }
}
