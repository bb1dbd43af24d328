namespace DataExchange.Settlement;

/// <summary>A seller's account (payout schema): its balance and how many payouts make it up (each payout: TaskSettlement.Payouts).</summary>
public sealed class SellerAccount
{
    public string Id { get; set; } = "";
    public decimal Balance { get; set; }
    public int Payouts { get; set; }
    public DateTimeOffset? LastPaidAt { get; set; }
}
