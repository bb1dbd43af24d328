using DataExchange.Idempotency;

namespace DataExchange.Pricing;

/// <summary>Marks a task's revenue curve as applied: each price update is applied exactly once.</summary>
public sealed class AppliedUpdate : ITaskMarker
{
    public string Id { get; set; } = "";
}
