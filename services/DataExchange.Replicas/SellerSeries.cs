using DataExchange.Contracts;
using DataExchange.Mechanism;
using Marten;
using MassTransit;

namespace DataExchange.ServiceDefaults.Replicas;

/// <summary>
/// A service's own copy of one seller's feature series, built from the bus (SellerRegistered,
/// FeatureObservationsAppended). Services never read another service's store; those that need the sellers'
/// data (allocation and payout) keep this replica. Observations are append-only, so a window once complete never changes.
/// </summary>
public sealed class SellerSeries
{
    public string Id { get; set; } = "";
    /// <summary>A series (double[]): stored in the event store's compact form (StoredSeriesConverter).</summary>
    public double[] Values { get; set; } = [];
}

/// <summary>The replica is behind the task (the seller's events are still on their way): retried, not failed.</summary>
public sealed class ReplicaNotReadyException(string message) : Exception(message);

/// <summary>Keeps the replica: idempotent (a batch already held is ignored), in order (a gap waits for retry).</summary>
public sealed class SellerSeriesConsumer : IConsumer<SellerRegistered>, IConsumer<FeatureObservationsAppended>
{
    private readonly IDocumentSession _session;

    public SellerSeriesConsumer(IDocumentSession session) => _session = session;

    public async Task Consume(ConsumeContext<SellerRegistered> context)
    {
        var id = context.Message.SellerId;
        if (await _session.LoadAsync<SellerSeries>(id, context.CancellationToken) is not null) return;
        _session.Insert(new SellerSeries { Id = id });
        try
        {
            await _session.SaveChangesAsync(context.CancellationToken);
        }
        catch (JasperFx.DocumentAlreadyExistsException)
        {
            // Registered concurrently by a redelivery: nothing to do.
        }
    }

    public async Task Consume(ConsumeContext<FeatureObservationsAppended> context)
    {
        var m = context.Message;
        var series = await _session.LoadAsync<SellerSeries>(m.SellerId, context.CancellationToken)
            ?? throw new ReplicaNotReadyException($"seller '{m.SellerId}' is not registered here yet");
        var held = series.Values.Length;
        if (m.FromStep + m.Values.Length <= held) return;
        if (m.FromStep > held)
            throw new ReplicaNotReadyException($"seller '{m.SellerId}': observations from step {m.FromStep} arrived before steps {held}..{m.FromStep - 1}");
        series.Values = [.. series.Values, .. m.Values.AsSpan((int)(held - m.FromStep))];
        // Optimistic concurrency on the document: two batches of one seller racing are retried in order.
        _session.Store(series);
        await _session.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>
/// Reads the replica. Observations are append-only, so a seller's series once read is cached in process and served
/// for every later task whose window it covers: a burst of tasks reads each seller from the database once.
/// </summary>
public sealed class SellerSeriesStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, double[]> _known = new(StringComparer.Ordinal);

    /// <summary>Registers the replica's document with optimistic concurrency.</summary>
    public static void Configure(StoreOptions options) => options.Schema.For<SellerSeries>().UseOptimisticConcurrency(true);

    /// <summary>The sellers' observations over [fromStep, fromStep + steps), in the order given; throws if the replica lacks any.</summary>
    public async Task<FeatureSet> LoadAsync(IQuerySession session, IReadOnlyList<string> sellerIds, long fromStep, int steps, CancellationToken ct)
    {
        var end = fromStep + steps;
        var missing = sellerIds.Where(id => !_known.TryGetValue(id, out var v) || v.Length < end).Distinct().ToArray();
        if (missing.Length > 0)
        {
            foreach (var doc in await session.LoadManyAsync<SellerSeries>(ct, missing))
                _known.AddOrUpdate(doc.Id, doc.Values, (_, old) => old.Length >= doc.Values.Length ? old : doc.Values);
        }
        var rows = new double[sellerIds.Count][];
        for (var i = 0; i < rows.Length; i++)
        {
            if (!_known.TryGetValue(sellerIds[i], out var s) || s.Length < end)
                throw new ReplicaNotReadyException($"seller '{sellerIds[i]}' has {(s?.Length ?? 0)} observations here, the task needs steps up to {end}");
            rows[i] = s.AsSpan((int)fromStep, steps).ToArray();
        }
        return new FeatureSet(sellerIds, rows);
    }
}
