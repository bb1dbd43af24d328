using DataExchange.Idempotency;

namespace DataExchange.Pricing;

/// <summary>Marks a task as quoted (its id is the task id): a redelivered TaskSubmitted is recognised.</summary>
public sealed class PricedTask : ITaskMarker
{
    public string Id { get; set; } = "";
}
