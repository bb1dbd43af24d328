namespace DataExchange.Mechanism;

/// <summary>One task, end to end.</summary>
public sealed record TaskOutcome(string BuyerId, TaskSeeds Seeds, AllocationOutcome Allocation, SettlementOutcome Settlement);
