using DataExchange.Contracts;

namespace DataExchange.Ingestion.Tasks;

/// <summary>What ingestion knows of a task: accepted or refused, and why.</summary>
public sealed partial class BuyerTask
{
    public string Id { get; set; } = "";
    public string? BuyerId { get; set; }
    public string Status { get; set; } = "";
    public string? Field { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset At { get; set; }

    public static BuyerTask Create(TaskSubmitted e) =>
        new() { Id = e.TaskId.ToString(), BuyerId = e.BuyerId, Status = "submitted", At = e.SubmittedAt };

    public static BuyerTask Create(TaskRejected e) =>
        new() { Id = e.TaskId.ToString(), BuyerId = e.BuyerId, Status = "rejected", Field = e.Field, Reason = e.Reason, At = e.RejectedAt };
}
