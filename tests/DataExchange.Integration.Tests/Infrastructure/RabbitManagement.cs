using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>A queue as the management API reports it (its counters lag by the broker's statistics interval).</summary>
public sealed record QueueInfo(string Name, long Messages, long Unacknowledged, int Consumers);

/// <summary>The RabbitMQ management HTTP API: vhosts, permissions and queue statistics.</summary>
public sealed class RabbitManagement : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _user;

    public RabbitManagement(Uri apiBase, string user, string password)
    {
        _user = user;
        _http = new HttpClient { BaseAddress = apiBase, Timeout = TimeSpan.FromSeconds(15) };
        _http.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Throws a clear error when the API does not answer or refuses the credentials.</summary>
    public async Task CheckReachableAsync(CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync("api/whoami", ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new InvalidOperationException(
                $"The RabbitMQ management API at {BaseAddress} is unreachable ({e.Message}). The integration tests need RabbitMQ with the " +
                "management plugin (run infra/up.sh; set DX_RABBIT_MGMT_PORT if it is not on 55673).", e);
        }
        using (response)
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"The RabbitMQ management API at {BaseAddress} answered {(int)response.StatusCode} to user '{_user}'.");
    }

    public async Task CreateVhostAsync(string vhost, CancellationToken ct)
    {
        await Send(HttpMethod.Put, $"api/vhosts/{Uri.EscapeDataString(vhost)}", new { description = "DataExchange integration tests" }, ct);
        await Send(HttpMethod.Put, $"api/permissions/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(_user)}",
            new { configure = ".*", write = ".*", read = ".*" }, ct);
    }

    /// <summary>A broker account with its own permissions on a vhost (e.g. a buyer's: no read on the market-internal exchanges).</summary>
    public async Task CreateUserAsync(string vhost, string user, string password, string configure, string write, string read, CancellationToken ct)
    {
        await Send(HttpMethod.Put, $"api/users/{Uri.EscapeDataString(user)}", new { password, tags = "" }, ct);
        await Send(HttpMethod.Put, $"api/permissions/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(user)}", new { configure, write, read }, ct);
    }

    public async Task DeleteUserAsync(string user, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync($"api/users/{Uri.EscapeDataString(user)}", ct);
    }

    /// <summary>The names of the exchanges of a vhost.</summary>
    public async Task<IReadOnlyList<string>> ExchangesAsync(string vhost, CancellationToken ct)
    {
        var list = await _http.GetFromJsonAsync<JsonElement>($"api/exchanges/{Uri.EscapeDataString(vhost)}?columns=name", ct);
        return list.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
    }

    /// <summary>Every binding of a vhost: (source exchange, destination, "queue" or "exchange").</summary>
    public async Task<IReadOnlyList<(string Source, string Destination, string Kind)>> BindingsAsync(string vhost, CancellationToken ct)
    {
        var list = await _http.GetFromJsonAsync<JsonElement>($"api/bindings/{Uri.EscapeDataString(vhost)}", ct);
        return list.EnumerateArray().Select(b => (b.GetProperty("source").GetString()!, b.GetProperty("destination").GetString()!,
            b.GetProperty("destination_type").GetString()!)).ToList();
    }

    /// <summary>What is bound to <paramref name="exchange"/> with <paramref name="routingKey"/>: (name, "queue" or "exchange").</summary>
    public async Task<IReadOnlyList<(string Destination, string Kind)>> BoundAsync(string vhost, string exchange, string routingKey, CancellationToken ct)
    {
        var list = await _http.GetFromJsonAsync<JsonElement>($"api/exchanges/{Uri.EscapeDataString(vhost)}/{Uri.EscapeDataString(exchange)}/bindings/source", ct);
        return list.EnumerateArray().Where(b => b.GetProperty("routing_key").GetString() == routingKey)
            .Select(b => (b.GetProperty("destination").GetString()!, b.GetProperty("destination_type").GetString()!)).ToList();
    }

    /// <summary>Removes every binding from <paramref name="exchange"/> to a destination (its messages stop coming).</summary>
    public async Task UnbindAsync(string vhost, string exchange, (string Destination, string Kind) to, CancellationToken ct)
    {
        var path = $"api/bindings/{Uri.EscapeDataString(vhost)}/e/{Uri.EscapeDataString(exchange)}/{(to.Kind == "queue" ? "q" : "e")}/{Uri.EscapeDataString(to.Destination)}";
        var list = await _http.GetFromJsonAsync<JsonElement>(path, ct);
        foreach (var b in list.EnumerateArray())
        {
            using var response = await _http.DeleteAsync($"{path}/{Uri.EscapeDataString(b.GetProperty("properties_key").GetString()!)}", ct);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"DELETE {path}: HTTP {(int)response.StatusCode}");
        }
    }

    public async Task DeleteVhostAsync(string vhost, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}", ct);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
            throw new InvalidOperationException($"DELETE vhost {vhost}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    public async Task<IReadOnlyList<QueueInfo>> QueuesAsync(string vhost, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"api/queues/{Uri.EscapeDataString(vhost)}", ct);
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return doc.RootElement.EnumerateArray().Select(q => new QueueInfo(
            q.GetProperty("name").GetString()!,
            Long(q, "messages"), Long(q, "messages_unacknowledged"), (int)Long(q, "consumers"))).ToList();
    }

    private static long Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    private async Task Send(HttpMethod method, string path, object body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await _http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    public void Dispose() => _http.Dispose();
}
