using Marten;

namespace DataExchange.Idempotency;

/// <summary>The idempotency check of the consumers: which tasks of a batch have not been done yet (one query).</summary>
public static class TaskMarkers
{
    /// <summary>The ids, deduplicated (a redelivery can put one task twice in a batch), minus those already marked.</summary>
    public static async Task<HashSet<Guid>> FreshAsync<T>(IQuerySession session, IEnumerable<Guid> ids, CancellationToken ct) where T : class, ITaskMarker
    {
        var all = ids.Distinct().ToList();
        var seen = await session.LoadManyAsync<T>(ct, all.Select(i => i.ToString()).ToArray());
        var done = seen.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        return all.Where(i => !done.Contains(i.ToString())).ToHashSet();
    }
}
