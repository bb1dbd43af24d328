using System.Diagnostics;
using System.Globalization;
using Marten;

namespace DataExchange.Reports;

/// <summary>
/// Drops every projection of a store and rebuilds it from the events (Marten's projection daemon, RebuildProjectionAsync),
/// reporting progress. Run it on a quiet market: the services' own daemons continue from where the rebuild ends.
/// </summary>
public static class ProjectionRebuilder
{
    /// <summary>
    /// Rebuilds every async projection of <paramref name="store"/> (concurrently: each reads the log on its own); returns one
    /// result per projection, in registration order. Progress is printed every second.
    /// </summary>
    public static async Task<IReadOnlyList<RebuildResult>> RebuildAllAsync(IDocumentStore store, string schema, string postgres,
        TextWriter progress, TimeSpan timeout, CancellationToken ct)
    {
        var events = await SettlementStores.LastSequenceAsync(postgres, schema, ct);
        var names = store.Advanced.AllAsyncProjectionShardNames().Select(s => s.Name).Distinct().ToList();
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{schema}: rebuilding {string.Join(", ", names)} from {events:N0} events"));
        using var daemon = await store.BuildProjectionDaemonAsync();
        var clock = Stopwatch.StartNew();
        var rebuilds = names.Select(async name =>
        {
            await daemon.RebuildProjectionAsync(name, timeout, ct);
            var result = new RebuildResult(schema, name, events, clock.Elapsed);
            lock (progress)
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{schema}.{name}: rebuilt from {events:N0} events in {result.Elapsed.TotalSeconds:0.00} s ({result.EventsPerSecond:N0} events/s)"));
            return result;
        }).ToList();
        var all = Task.WhenAll(rebuilds);
        while (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(1), ct)) != all)
        {
            var states = daemon.Tracker.CurrentStates().Where(s => !s.ShardName.Contains("HighWater", StringComparison.Ordinal))
                .Select(s => $"{s.ShardName} at {s.Sequence:N0}");
            lock (progress)
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {schema}: {clock.Elapsed.TotalSeconds:0.0} s, {string.Join(", ", states)} of {events:N0} events"));
        }
        return await all;
    }
}
