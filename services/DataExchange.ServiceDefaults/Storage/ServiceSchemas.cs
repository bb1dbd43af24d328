namespace DataExchange.ServiceDefaults.Storage;

/// <summary>
/// Each service's name, which is also its Marten schema (its events and documents), its queue prefix and its telemetry
/// name. Every reader of a service's schema (the services, their read models, `dx`, the tests) names it from here.
/// </summary>
public static class ServiceSchemas
{
    public const string Ingestion = "ingestion", Pricing = "pricing", Allocation = "allocation", Payout = "payout";

    /// <summary>The four, in the order a task passes through them.</summary>
    public static readonly IReadOnlyList<string> All = [Ingestion, Pricing, Allocation, Payout];
}
