using System.Net.Http.Json;
using System.Text.Json;
using RabbitMQ.Client;

namespace DataExchange.Cli.Errors;

/// <summary>A message parked in an error queue, as the broker reports it (peeked, not removed).</summary>
public sealed record ParkedMessage(string MessageType, string? ExceptionType, string? Reason);

/// <summary>An error queue: where a service parks messages it could not process, with the exception in the headers.</summary>
public sealed record ErrorQueue(string Name, string SourceQueue, long Messages, IReadOnlyList<ParkedMessage> Sample);

/// <summary>
/// The market's error queues (MassTransit's "&lt;queue&gt;_error"): lists them through the management API and moves their
/// messages back to the queue they came from once the cause is fixed. A message is acknowledged in the error queue only
/// after the broker confirmed its copy in the source queue, so nothing is lost; a crash in between gives a duplicate,
/// which the idempotent consumers ignore.
/// </summary>
public sealed class ErrorQueues : IDisposable
{
    private const string Suffix = "_error";
    private readonly BrokerManagement _broker;
    private readonly HttpClient _http;
    private readonly Uri _amqp;

    public ErrorQueues(string amqpUri, string? managementUrl)
    {
        _broker = new BrokerManagement(amqpUri, managementUrl);
        _http = _broker.Http;
        _amqp = _broker.Amqp;
    }

    private string VhostPath => _broker.VhostPath;

    public async Task<IReadOnlyList<ErrorQueue>> ListAsync(int sample, CancellationToken ct)
    {
        var queues = await _http.GetFromJsonAsync<JsonElement>($"api/queues/{VhostPath}?columns=name,messages", ct);
        var result = new List<ErrorQueue>();
        foreach (var q in queues.EnumerateArray())
        {
            var name = q.GetProperty("name").GetString()!;
            if (!name.EndsWith(Suffix, StringComparison.Ordinal)) continue;
            var count = q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0;
            result.Add(new ErrorQueue(name, SourceOf(name), count, sample > 0 && count > 0 ? await PeekAsync(name, sample, ct) : []));
        }
        return result.OrderBy(q => q.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Looks at the first messages without taking them (the management API requeues them).</summary>
    private async Task<IReadOnlyList<ParkedMessage>> PeekAsync(string queue, int count, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync($"api/queues/{VhostPath}/{Uri.EscapeDataString(queue)}/get",
            new { count, ackmode = "ack_requeue_true", encoding = "auto", truncate = 2000 }, ct);
        response.EnsureSuccessStatusCode();
        var messages = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        var list = new List<ParkedMessage>();
        foreach (var msg in messages.EnumerateArray())
        {
            var headers = msg.GetProperty("properties").TryGetProperty("headers", out var h) ? h : default;
            string? Header(string key) => headers.ValueKind == JsonValueKind.Object && headers.TryGetProperty(key, out var v) ? v.ToString() : null;
            var type = msg.GetProperty("properties").TryGetProperty("type", out var t) ? t.GetString() : null;
            list.Add(new ParkedMessage(Header("MT-MessageType") ?? type ?? "?", Header("MT-Fault-ExceptionType"), Header("MT-Fault-Message") ?? Header("MT-Reason")));
        }
        return list;
    }

    /// <summary>The queue an error queue's messages came from (MassTransit names it after it).</summary>
    public static string SourceOf(string errorQueue) =>
        errorQueue.EndsWith(Suffix, StringComparison.Ordinal)
            ? errorQueue[..^Suffix.Length]
            : throw new UsageException($"--queue: '{errorQueue}' is not an error queue (names end in {Suffix})");

    /// <summary>Moves every message of an error queue back to its source queue; returns how many moved.</summary>
    public async Task<int> ReplayAsync(string errorQueue, CancellationToken ct)
    {
        var source = SourceOf(errorQueue);
        var factory = new ConnectionFactory { Uri = _amqp };
        await using var connection = await factory.CreateConnectionAsync(ct);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), ct);
        var moved = 0;
        while (await channel.BasicGetAsync(errorQueue, false, ct) is { } message)
        {
            var properties = new BasicProperties(message.BasicProperties);
            if (properties.Headers is not null)
                foreach (var key in properties.Headers.Keys.Where(k => k.StartsWith("MT-Fault-", StringComparison.Ordinal) || k == "MT-Reason").ToList())
                    properties.Headers.Remove(key);
            // Confirmed by the broker before the original is acknowledged.
            await channel.BasicPublishAsync("", source, true, properties, message.Body, ct);
            await channel.BasicAckAsync(message.DeliveryTag, false, ct);
            moved++;
        }
        return moved;
    }

    public void Dispose() => _broker.Dispose();
}
