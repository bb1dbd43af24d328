using DataExchange.Idempotency;

namespace DataExchange.Allocation;

/// <summary>Marks a task as allocated (written with its events): a redelivered TaskPriced changes nothing.</summary>
public sealed class AllocatedTask : ITaskMarker
{
    public string Id { get; set; } = "";
}
