namespace DataExchange.Idempotency;

/// <summary>A document whose id is a task id, written in the same transaction as the work it marks as done.</summary>
public interface ITaskMarker
{
    string Id { get; }
}
