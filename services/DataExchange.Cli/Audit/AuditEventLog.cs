using DataExchange.Replicas;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults.Storage;
using JasperFx;
using Marten;

namespace DataExchange.Cli.Audit;

/// <summary>What one settled task's streams record, as each service wrote it (the contracts' own types).</summary>
public sealed record RecordedTask(TaskSubmitted Submitted, TaskPriced Priced, FeaturesAllocated Allocated, PredictionDelivered Delivered,
    PaymentCharged Charged, TaskSettled Settled, IReadOnlyList<SellerPaid> Paid);

/// <summary>
/// The four services' event logs, read through Marten: one read-only DocumentStore per service schema, configured as the
/// services configure theirs (MarketStore), so every event comes back as its contract type. Nothing is created or changed.
/// </summary>
public sealed class AuditEventLog : IDisposable
{
    private static readonly IReadOnlyList<string> Schemas = ServiceSchemas.All;
    private readonly Dictionary<string, DocumentStore> _stores;

    public AuditEventLog(string postgres) => _stores = Schemas.ToDictionary(s => s, s => DocumentStore.For(o =>
    {
        MarketStore.Configure(o, postgres, s);
        o.AutoCreateSchemaObjects = AutoCreate.None;
        // Every contract type, so a stream's events map to them by their stored names (task_submitted, ...).
        foreach (var type in typeof(TaskSubmitted).Assembly.GetExportedTypes().Where(t => t.Namespace == typeof(TaskSubmitted).Namespace && t is { IsClass: true, IsAbstract: false }))
            o.Events.AddEventType(type);
    }));

    /// <summary>The events of one stream in a service's schema, in order (none when that service never wrote an event).</summary>
    public async Task<IReadOnlyList<object>> StreamAsync(string schema, string streamId, CancellationToken ct)
    {
        await using var session = _stores[schema].QuerySession();
        try
        {
            return (await session.Events.FetchStreamAsync(streamId, token: ct)).Select(e => e.Data).ToList();
        }
        catch (Exception e) when (NotCreatedYet.Of(e) is not null)
        {
            return [];
        }
    }

    /// <summary>A settled task's events in ingestion, pricing, allocation and payout; unavailable when any stage is missing.</summary>
    public async Task<RecordedTask> TaskAsync(Guid taskId, CancellationToken ct)
    {
        var id = taskId.ToString();
        var ingestion = await StreamAsync(ServiceSchemas.Ingestion, id, ct);
        if (ingestion.Count == 0) throw new AuditUnavailableException($"task {id} is unknown (no events in ingestion.mt_events)");
        if (ingestion.OfType<TaskRejected>().Any()) throw new AuditUnavailableException($"task {id} was rejected: there is nothing to recompute");
        var pricing = await StreamAsync(ServiceSchemas.Pricing, id, ct);
        var allocation = await StreamAsync(ServiceSchemas.Allocation, id, ct);
        var payout = await StreamAsync(ServiceSchemas.Payout, id, ct);
        if (!payout.OfType<TaskSettled>().Any()) throw new AuditUnavailableException($"task {id} is not settled yet (no TaskSettled in payout.mt_events)");
        return new RecordedTask(One<TaskSubmitted>(ingestion, ServiceSchemas.Ingestion), One<TaskPriced>(pricing, ServiceSchemas.Pricing), One<FeaturesAllocated>(allocation, ServiceSchemas.Allocation),
            One<PredictionDelivered>(allocation, ServiceSchemas.Allocation), One<PaymentCharged>(allocation, ServiceSchemas.Allocation), One<TaskSettled>(payout, ServiceSchemas.Payout),
            payout.OfType<SellerPaid>().ToList());
    }

    /// <summary>
    /// Each seller's observations over [fromStep, fromStep + steps) from its stream in ingestion (the source the replicas
    /// are built from), whatever was appended later.
    /// </summary>
    public async Task<FeatureSet> FeaturesAsync(string[] sellerIds, long fromStep, int steps, CancellationToken ct)
    {
        var series = new double[sellerIds.Length][];
        for (var m = 0; m < sellerIds.Length; m++)
        {
            // Folded as the services' replicas fold it (SellerSeries.Append).
            var replica = new SellerSeries { Id = sellerIds[m] };
            foreach (var batch in (await StreamAsync(ServiceSchemas.Ingestion, sellerIds[m], ct)).OfType<FeatureObservationsAppended>())
            {
                if (replica.Append(batch.FromStep, batch.Values) == SeriesAppend.Gap)
                    throw new AuditUnavailableException($"seller '{sellerIds[m]}': a batch starts at step {batch.FromStep} where the series has {replica.Values.Length} observations");
                if (replica.Values.Length >= fromStep + steps) break;
            }
            if (replica.Values.Length < fromStep + steps)
                throw new AuditUnavailableException($"seller '{sellerIds[m]}' has {replica.Values.Length} observations, the task needs steps up to {fromStep + steps}");
            series[m] = replica.Values.AsSpan((int)fromStep, steps).ToArray();
        }
        return new FeatureSet(sellerIds, series);
    }

    private static T One<T>(IReadOnlyList<object> events, string schema)
    {
        var found = events.OfType<T>().ToList();
        return found.Count switch
        {
            0 => throw new AuditUnavailableException($"no {typeof(T).Name} in {schema}.mt_events for this task (not processed yet?)"),
            1 => found[0],
            _ => throw new AuditUnavailableException($"{found.Count} {typeof(T).Name} events in {schema}.mt_events for one task"),
        };
    }

    public void Dispose()
    {
        foreach (var store in _stores.Values) store.Dispose();
    }
}
