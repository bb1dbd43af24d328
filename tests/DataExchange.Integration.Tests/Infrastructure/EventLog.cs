using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using DataExchange.ServiceDefaults.Storage;
using Npgsql;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>One row of a service's <c>&lt;schema&gt;.mt_events</c>.</summary>
public sealed record StoredEvent(long SeqId, string StreamId, long Version, string Type, string DataJson, string? HeadersJson)
{
    public T Data<T>() => JsonSerializer.Deserialize<T>(DataJson, EventLog.Json)
        ?? throw new InvalidOperationException($"event {SeqId} ({Type}) has null data");

    /// <summary>The W3C traceparent recorded with the event (TraceContext.Record), if any.</summary>
    public string? TraceParent
    {
        get
        {
            if (HeadersJson is null) return null;
            using var doc = JsonDocument.Parse(HeadersJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("traceparent", out var v)
                ? v.ToString() : null;
        }
    }

    /// <summary>The trace id part of the traceparent (version-traceid-spanid-flags).</summary>
    public string? TraceId => TraceParent?.Split('-') is { Length: 4 } parts ? parts[1] : null;
}

/// <summary>Raw SQL over the services' event tables (each service has its own schema in the one database).</summary>
public sealed partial class EventLog(string connectionString)
{
    // Stored events keep series as base64 (DataExchange.Contracts.CompactSeriesConverter).
    public static JsonSerializerOptions Json => DataExchange.ServiceDefaults.Storage.MarketStore.SqlReaderJson;

    public const string Ingestion = ServiceSchemas.Ingestion, Pricing = ServiceSchemas.Pricing, Allocation = ServiceSchemas.Allocation, Payout = ServiceSchemas.Payout;

    [GeneratedRegex("^[a-z_]+$")]
    private static partial Regex SchemaName();

    public string ConnectionString { get; } = connectionString;

    /// <summary>Events of <paramref name="schema"/>, optionally of one type (Marten alias, e.g. task_settled) and some streams, in seq_id order.</summary>
    public async Task<IReadOnlyList<StoredEvent>> QueryAsync(string schema, string? type = null, IEnumerable<string>? streams = null,
        CancellationToken ct = default)
    {
        if (!SchemaName().IsMatch(schema)) throw new ArgumentException($"not a schema name: {schema}", nameof(schema));
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        var sql = $"select seq_id, stream_id, version, type, data::text, headers::text from {schema}.mt_events where true";
        if (type is not null)
        {
            sql += " and type = @type";
            command.Parameters.AddWithValue("type", type);
        }
        if (streams is not null)
        {
            sql += " and stream_id = any(@streams)";
            command.Parameters.AddWithValue("streams", streams.ToArray());
        }
        command.CommandText = sql + " order by seq_id";
        var list = new List<StoredEvent>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                list.Add(new StoredEvent(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // The service has not written its first event yet (Marten creates the table with the schema, so rarely).
        }
        return list;
    }

    /// <summary>Events of one type, their data deserialised to the contract record.</summary>
    public async Task<IReadOnlyList<(StoredEvent Event, T Data)>> QueryAsync<T>(string schema, string type, IEnumerable<string>? streams = null,
        CancellationToken ct = default)
    {
        var rows = await QueryAsync(schema, type, streams, ct);
        return rows.Select(r => (r, r.Data<T>())).ToList();
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken ct = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
    }
}
