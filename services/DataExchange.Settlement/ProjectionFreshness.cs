using System.Diagnostics;
using Marten;

namespace DataExchange.Settlement;

/// <summary>
/// Read-your-settlements for the async projections: the daemon applies a committed event a moment later (it polls its
/// log), so a reader who heard of a settlement on the bus could otherwise ask before its line is projected. A reader waits
/// here until the projections it reads have applied every event committed to the service's log before it asked.
/// </summary>
public static class ProjectionFreshness
{
    /// <summary>
    /// Waits until each of <paramref name="projections"/> (by name) has applied the log up to the highest sequence
    /// committed when called; false if <paramref name="timeout"/> passes first. Committed, not assigned: a sequence number
    /// an open or rolled-back transaction holds is not waited for (the daemon skips such gaps only after a while).
    /// </summary>
    public static async Task<bool> WaitAsync(IDocumentStore store, IQuerySession session, IReadOnlyCollection<string> projections,
        TimeSpan timeout, CancellationToken ct)
    {
        var committed = await session.Events.QueryAllRawEvents().OrderByDescending(e => e.Sequence).Select(e => e.Sequence).Take(1).ToListAsync(ct);
        if (committed.Count == 0) return true;
        var target = committed[0];
        var shards = store.Advanced.AllAsyncProjectionShardNames().Where(s => projections.Contains(s.Name)).ToList();
        if (shards.Select(s => s.Name).Distinct().Count() != projections.Count)
            throw new ArgumentException($"not every one of {string.Join(", ", projections)} is an async projection of this store", nameof(projections));
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            var behind = false;
            foreach (var shard in shards)
                if (await store.Storage.Database.ProjectionProgressFor(shard, ct) < target) { behind = true; break; }
            if (!behind) return true;
            if (clock.Elapsed >= timeout) return false;
            await Task.Delay(pause, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 100));
        }
    }
}
