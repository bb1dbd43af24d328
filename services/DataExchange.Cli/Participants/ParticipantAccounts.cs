using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Participants;

/// <summary>A participant as the broker knows it: its role, id, account and its queue's backlog.</summary>
public sealed record ParticipantAccount(string Role, string Id, string Account, long QueuedMessages);

/// <summary>What <c>dx participants add</c> hands the participant: its AMQP URI (own account) and its HTTP API key.</summary>
public sealed record ParticipantCredentials(string Role, string Id, string AmqpUri, string ApiKey);

/// <summary>
/// Makes participants real on the broker, through the management API with the operator's account. A participant gets
/// its own account whose permissions (configure, write, read) cover only names starting "participant.ROLE.ID"; its own
/// durable queue, bound by the operator to the deliveries addressed to it and to the public market prices; and, for a
/// buyer, its own task exchange bound to the market's intake. It gets nothing on the services' exchanges and queues.
/// </summary>
public sealed class ParticipantAccounts(BrokerManagement broker, ParticipantKeys keys)
{
    private HttpClient Http => broker.Http;

    public static (string Role, string Id) Parse(string role, string id)
    {
        if (role is not ("buyer" or "seller")) throw new UsageException($"participants add: role '{role}' is not buyer or seller");
        if (MarketLimits.IdProblem(id) is { } problem) throw new UsageException($"id: '{id}' {problem}");
        // Account, queue and routing key are built from the id with '.' as the separator: an id with a '.' could alias another's.
        if (id.Contains('.')) throw new UsageException($"id: '{id}' contains '.', which a participant on the bus may not (it separates names in routing keys)");
        return (role, id);
    }

    /// <summary>The permission regex of a participant: its own names and nothing else.</summary>
    public static string OwnNames(string role, string id) => $"^{System.Text.RegularExpressions.Regex.Escape(ParticipantBus.Queue(role, id))}(\\..*)?$";

    public async Task<ParticipantCredentials> AddAsync(string role, string id, CancellationToken ct)
    {
        (role, id) = Parse(role, id);
        var account = ParticipantBus.Account(role, id);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLowerInvariant();
        await Put($"api/users/{BrokerManagement.Escape(account)}", new { password, tags = "" }, ct);
        var own = OwnNames(role, id);
        await Put($"api/permissions/{broker.VhostPath}/{BrokerManagement.Escape(account)}", new { configure = own, write = own, read = own }, ct);

        var queue = ParticipantBus.Queue(role, id);
        await Put($"api/exchanges/{broker.VhostPath}/{BrokerManagement.Escape(ParticipantBus.Deliveries)}", new { type = "topic", durable = true }, ct);
        await Put($"api/exchanges/{broker.VhostPath}/{BrokerManagement.Escape(ParticipantBus.MarketPrices)}", new { type = "fanout", durable = true }, ct);
        await Put($"api/queues/{broker.VhostPath}/{BrokerManagement.Escape(queue)}", new { durable = true, auto_delete = false }, ct);
        await Bind("q", ParticipantBus.Deliveries, queue, ParticipantBus.RoutingKey(role, id), ct);
        await Bind("q", ParticipantBus.MarketPrices, queue, "", ct);
        if (role == "buyer")
        {
            var submit = ParticipantBus.SubmitExchange(id);
            var intake = MarketTopology.Exchange(typeof(SubmitPredictionTask));
            await Put($"api/exchanges/{broker.VhostPath}/{BrokerManagement.Escape(intake)}", new { type = "fanout", durable = true }, ct);
            await Put($"api/exchanges/{broker.VhostPath}/{BrokerManagement.Escape(submit)}", new { type = "fanout", durable = true }, ct);
            await Bind("e", submit, intake, "", ct);
        }
        var uri = new UriBuilder(broker.Amqp) { UserName = Uri.EscapeDataString(account), Password = password }.Uri.ToString();
        return new ParticipantCredentials(role, id, uri, keys.Issue(role == "buyer" ? ParticipantRole.Buyer : ParticipantRole.Seller, id));
    }

    public async Task<IReadOnlyList<ParticipantAccount>> ListAsync(CancellationToken ct)
    {
        var users = await Http.GetFromJsonAsync<JsonElement>("api/users", ct);
        var queues = await Http.GetFromJsonAsync<JsonElement>($"api/queues/{broker.VhostPath}?columns=name,messages", ct);
        var depth = queues.EnumerateArray().ToDictionary(q => q.GetProperty("name").GetString()!,
            q => q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0);
        var list = new List<ParticipantAccount>();
        foreach (var u in users.EnumerateArray())
        {
            var name = u.GetProperty("name").GetString()!;
            var dot = name.IndexOf('.');
            if (dot <= 0 || name[..dot] is not ("buyer" or "seller")) continue;
            var (role, id) = (name[..dot], name[(dot + 1)..]);
            if (!depth.TryGetValue(ParticipantBus.Queue(role, id), out var queued)) continue;
            list.Add(new ParticipantAccount(role, id, name, queued));
        }
        return list.OrderBy(p => p.Role, StringComparer.Ordinal).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Closes the participant's account: the broker user is deleted and its open connections closed, its queue and task
    /// exchange removed; its HTTP key is refused from then on (the services' revocation list, <see cref="ParticipantRevoked"/>).
    /// </summary>
    public async Task<bool> RevokeAsync(string id, Func<ParticipantRevoked, CancellationToken, Task> announce, CancellationToken ct)
    {
        var found = (await ListAsync(ct)).Where(p => p.Id == id).ToList();
        foreach (var p in found)
        {
            await announce(new ParticipantRevoked(p.Role, p.Id, DateTimeOffset.UtcNow), ct);
            await Delete($"api/users/{BrokerManagement.Escape(p.Account)}", ct);
            var connections = await Http.GetFromJsonAsync<JsonElement>("api/connections?columns=name,user", ct);
            foreach (var c in connections.EnumerateArray().Where(c => c.GetProperty("user").GetString() == p.Account))
                await Delete($"api/connections/{BrokerManagement.Escape(c.GetProperty("name").GetString()!)}", ct);
            await Delete($"api/queues/{broker.VhostPath}/{BrokerManagement.Escape(ParticipantBus.Queue(p.Role, p.Id))}", ct);
            if (p.Role == "buyer") await Delete($"api/exchanges/{broker.VhostPath}/{BrokerManagement.Escape(ParticipantBus.SubmitExchange(p.Id))}", ct);
        }
        return found.Count > 0;
    }

    private async Task Put(string path, object body, CancellationToken ct)
    {
        using var response = await Http.PutAsJsonAsync(path, body, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"broker management: PUT {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    private async Task Bind(string kind, string source, string destination, string routingKey, CancellationToken ct)
    {
        var path = $"api/bindings/{broker.VhostPath}/e/{BrokerManagement.Escape(source)}/{kind}/{BrokerManagement.Escape(destination)}";
        using var response = await Http.PostAsJsonAsync(path, new { routing_key = routingKey }, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"broker management: POST {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    private async Task Delete(string path, CancellationToken ct)
    {
        using var response = await Http.DeleteAsync(path, ct);
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
            throw new InvalidOperationException($"broker management: DELETE {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }
}
