namespace DataExchange.Replicas;

/// <summary>The replica is behind the task (the seller's events are still on their way): retried, not failed.</summary>
public sealed class ReplicaNotReadyException(string message) : Exception(message);
