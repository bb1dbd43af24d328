using DataExchange.Mechanism;
using Marten;

namespace DataExchange.Replicas;

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
