using System.Text.Json;
using System.Text.Json.Serialization;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace DataExchange.ServiceDefaults.Storage;

/// <summary>
/// The event store settings every reader and writer of a service's schema shares (the services, and the CLI, tests and
/// benchmarks through SettlementStores): string stream ids (a task's id, a market's id), headers with the trace context,
/// correlation and causation ids, and series stored as base64 (CompactSeriesConverter).
/// </summary>
public static class MarketStore
{
    public static void Configure(StoreOptions opts, string postgres, string schema)
    {
        opts.Connection(Pooled(postgres));
        opts.DatabaseSchemaName = schema;
        opts.Events.DatabaseSchemaName = schema;
        // The services share one database but each changes only its own schema: a lock per schema lets the four start
        // side by side instead of queueing for Marten's one default lock (which, on a loaded 2-core machine, timed out
        // after the default 10 s and failed a service's start). Instances of one service still take turns.
        opts.ApplyChangesLockId = SchemaLockId(schema);
        opts.ApplyChangesLockTimeout = TimeSpan.FromMinutes(2);
        opts.Events.StreamIdentity = StreamIdentity.AsString;
        opts.Events.MetadataConfig.HeadersEnabled = true;
        opts.Events.MetadataConfig.CorrelationIdEnabled = true;
        opts.Events.MetadataConfig.CausationIdEnabled = true;
        // Marten 9 defaults this to true: FetchForWriting then keeps an inline aggregate in the session's identity
        // map, and a retry in the same session (MarketPricer, SellerCommands.Append after a ConcurrencyException)
        // gets the FRESH stream version but the STALE aggregate, so it appends on top of old state without a
        // conflict (seen as MarketPriceUpdated.Updates going 53 -> 7 with two pricers). Every fetch reads the store.
        opts.Events.UseIdentityMapForAggregates = false;
        opts.UseSystemTextJsonForSerialization(configure: ConfigureJson);
    }

    /// <summary>
    /// The connection string with pooled connections kept as they are when they go back to the pool. Npgsql's default
    /// reset (DISCARD ALL) also throws away PostgreSQL's cached plans of Marten's append function, which then planned its
    /// statements again in every commit: 1.1-1.5 ms a call for one event with the reset, 0.6 ms without (2.4 instead of
    /// 3.3 ms for a settlement's 21 events), measured with pg_stat_statements over 100 sequential tasks. Nothing here
    /// relies on the reset: no session settings or temporary tables, and the daemon's advisory locks are released explicitly.
    /// </summary>
    private static string Pooled(string postgres) => new NpgsqlConnectionStringBuilder(postgres) { NoResetOnClose = true }.ConnectionString;

    /// <summary>A stable advisory lock id per schema (FNV-1a of its name), away from Marten's default id.</summary>
    private static int SchemaLockId(string schema)
    {
        var hash = 2166136261u;
        foreach (var c in schema) hash = (hash ^ c) * 16777619u;
        return (int)(hash & 0x3fffffff) | 0x40000000;
    }

    /// <summary>The JSON of stored events and documents (Marten's serializer settings on top of its defaults).</summary>
    public static void ConfigureJson(JsonSerializerOptions o) => o.Converters.Add(new DataExchange.Contracts.CompactSeriesConverter());

    /// <summary>
    /// For code that reads the event tables with SQL (the audit, tests): the stored JSON, with names matched
    /// case-insensitively and numbers read leniently (named literals, numbers written as strings).
    /// </summary>
    public static JsonSerializerOptions SqlReaderJson { get; } = CreateSqlReaderJson();

    private static JsonSerializerOptions CreateSqlReaderJson()
    {
        var o = new JsonSerializerOptions
        {
            PropertyNameCaseInsensitive = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString,
        };
        ConfigureJson(o);
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
