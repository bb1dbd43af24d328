using DataExchange.Idempotency;

namespace DataExchange.Payout;

/// <summary>Marks a task as settled (written with its payouts): a redelivered PaymentCharged never pays twice.</summary>
public sealed class SettledTask : ITaskMarker
{
    public string Id { get; set; } = "";
}
