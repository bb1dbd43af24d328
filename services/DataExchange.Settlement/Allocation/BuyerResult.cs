using DataExchange.Contracts;

namespace DataExchange.Settlement;

/// <summary>
/// What a buyer received for one task (allocation schema; one per task stream): the gain and where its predictions start,
/// and the charge. The predictions themselves stay in the PredictionDelivered event (read for the tasks of one page only).
/// <see cref="Cursor"/> = the sequence number of the later of the task's PredictionDelivered and PaymentCharged, so a
/// result is served only once both are in, with a cursor above every one served before.
/// </summary>
public sealed class BuyerResult
{
    public string Id { get; set; } = "";
    public long Cursor { get; set; }
    public Guid TaskId { get; set; }
    public string BuyerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Gain { get; set; }
    public long PredictionFromStep { get; set; }
    public bool Delivered { get; set; }
    /// <summary>Null until the task's PaymentCharged is applied.</summary>
    public decimal? Charge { get; set; }
    public DateTimeOffset? ChargedAt { get; set; }
    public bool Complete { get; set; }
}
