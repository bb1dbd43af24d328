using System.Diagnostics;
using System.Globalization;
using Marten;

namespace DataExchange.Settlement;

/// <summary>One projection rebuilt: how many events its schema's log holds and how long the rebuild took.</summary>
public sealed record RebuildResult(string Schema, string Projection, long Events, TimeSpan Elapsed)
{
    public double EventsPerSecond => Elapsed.TotalSeconds > 0 ? Events / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Drops every projection of a store and rebuilds it from the events (Marten's projection daemon, RebuildProjectionAsync),
/// reporting progress. Run it on a quiet market: the services' own daemons continue from where the rebuild ends.
/// </summary>
public static class ProjectionRebuilder
{
    /// <summary>Rebuilds every async projection of <paramref name="store"/>, one after another; returns one result per projection.</summary>
    public static async Task<IReadOnlyList<RebuildResult>> RebuildAllAsync(IDocumentStore store, string schema, string postgres,
        TextWriter progress, TimeSpan timeout, CancellationToken ct)
    {
        var events = await SettlementStores.LastSequenceAsync(postgres, schema, ct);
        var names = store.Advanced.AllAsyncProjectionShardNames().Select(s => s.Name).Distinct().ToList();
        var results = new List<RebuildResult>();
        using var daemon = await store.BuildProjectionDaemonAsync();
        foreach (var name in names)
        {
            var clock = Stopwatch.StartNew();
            var rebuild = daemon.RebuildProjectionAsync(name, timeout, ct);
            while (await Task.WhenAny(rebuild, Task.Delay(TimeSpan.FromSeconds(1), ct)) != rebuild)
            {
                var position = daemon.CurrentAgents().Select(a => a.Position).DefaultIfEmpty(0).Max();
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {schema}.{name}: {position:N0} of {events:N0} events read, {clock.Elapsed.TotalSeconds:0.0} s"));
            }
            await rebuild;
            clock.Stop();
            var result = new RebuildResult(schema, name, events, clock.Elapsed);
            results.Add(result);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{schema}.{name}: rebuilt from {events:N0} events in {clock.Elapsed.TotalSeconds:0.00} s ({result.EventsPerSecond:N0} events/s)"));
        }
        return results;
    }
}
