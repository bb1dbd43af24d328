using DataExchange.ServiceDefaults.Storage;
using DataExchange.Settlement;
using JasperFx;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace DataExchange.Reports;

/// <summary>
/// Stores outside the services (the CLI, tests, benchmarks) over one service's schema, with the settlement projections
/// registered exactly as the service registers them, and the services' store settings (MarketStore), so events and
/// projection progress are read the same way.
/// </summary>
public static class SettlementStores
{
    /// <param name="postgres">Connection string of the market's database.</param>
    /// <param name="schema">The service's schema (payout, allocation, pricing), or a benchmark's own schema.</param>
    /// <param name="projections">The schema's registrations (default: those of <paramref name="schema"/>).</param>
    /// <param name="createSchema">Create missing tables (a benchmark's fresh schema); otherwise the store changes no schema.</param>
    public static DocumentStore Open(string postgres, string schema, Action<StoreOptions>? projections = null, bool createSchema = false) =>
        DocumentStore.For(opts =>
        {
            MarketStore.Configure(opts, postgres, schema);
            // No daemon runs in these stores (nothing hosts one): rebuilds build their own. Saying so keeps Marten from printing a
            // "daemon disabled" warning onto stdout, where it would corrupt a report.
            opts.Projections.AsyncMode = JasperFx.Events.Daemon.DaemonMode.Solo;
            opts.AutoCreateSchemaObjects = createSchema ? AutoCreate.CreateOrUpdate : AutoCreate.None;
            (projections ?? SettlementProjections.For(schema))(opts);
        });

    /// <summary>The highest event sequence number of the store's log (0 when empty or not created yet).</summary>
    public static async Task<long> LastSequenceAsync(string postgres, string schema, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from \"{schema}\".mt_events", connection);
        try
        {
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    /// <summary>Each async projection of the store and how far it has read the log.</summary>
    public static async Task<IReadOnlyList<(string Projection, long Sequence)>> ProgressAsync(IDocumentStore store, CancellationToken ct)
    {
        var list = new List<(string, long)>();
        foreach (var shard in store.Advanced.AllAsyncProjectionShardNames())
        {
            long seq;
            try
            {
                seq = await store.Storage.Database.ProjectionProgressFor(shard, ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                seq = 0;
            }
            list.Add((shard.Identity, seq));
        }
        return list;
    }
}
