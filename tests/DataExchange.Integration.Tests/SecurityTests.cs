using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>
/// HTTP needs a participant's key; a buyer sees only its own tasks and predictions, a seller only its own payouts; and
/// the sellers' raw features never reach a buyer: not in any message a buyer's broker account can read, not in any
/// HTTP answer.
/// </summary>
/// <remarks>
/// Keys are checked by the participant-key authentication handler and the endpoints' policies (DataExchange.Participants).
/// Deliberate breaks, each run once against this test and reverted (2026-12-02, issue 14):
/// - OwnIdHandler always succeeding (the own-id policy disabled): watched failing, another buyer's key submitted the task
///   (Expected Forbidden, Actual Accepted);
/// - OwnIdHandler reading the caller's own id instead of the route's {sellerId} (so the policy compares the key with itself):
///   watched failing, another seller's key read the payouts (Expected Forbidden, Actual OK).
/// </remarks>
[Collection(MarketCollection.Name)]
public sealed class SecurityTests(MarketFixture market)
{
    private static HttpRequestMessage Request(HttpMethod method, string url, string? key, object? body = null)
    {
        var r = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        if (key is not null) r.Headers.Add(ParticipantKeys.Header, key);
        return r;
    }

    private string Url(string service) => market.Processes.First(p => p.Name.StartsWith(service, StringComparison.OrdinalIgnoreCase) && !p.HasExited).Url;

    [Fact]
    public Task Keys_are_required_and_participants_see_only_their_own() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var keys = market.Keys;
        using var http = new HttpClient();
        var (owner, other) = (scenario.Buyers[3], scenario.Buyers[4]);
        var ownerKey = keys.Issue(ParticipantRole.Buyer, owner.Id);
        var otherKey = keys.Issue(ParticipantRole.Buyer, other.Id);
        var task = new SubmitPredictionTask(Guid.NewGuid(), owner.Id, owner.Valuation, owner.Target, 0, null, Scenarios.NewMarketId("security"));
        var ingestion = market.IngestionUrl;

        async Task<HttpStatusCode> Status(HttpMethod m, string url, string? key, object? body = null)
        {
            using var response = await http.SendAsync(Request(m, url, key, body), ct);
            return response.StatusCode;
        }

        // Submitting: no key, a forged key, a seller's key, another buyer's key; then the owner's.
        Assert.Equal(HttpStatusCode.Unauthorized, await Status(HttpMethod.Post, $"{ingestion}/tasks", null, task));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status(HttpMethod.Post, $"{ingestion}/tasks", ownerKey[..^2] + "xx", task));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status(HttpMethod.Post, $"{ingestion}/tasks", new ParticipantKeys("another secret").Issue(ParticipantRole.Buyer, owner.Id), task));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, $"{ingestion}/tasks", keys.Issue(ParticipantRole.Seller, owner.Id), task));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, $"{ingestion}/tasks", otherKey, task));
        Assert.Equal(HttpStatusCode.Accepted, await Status(HttpMethod.Post, $"{ingestion}/tasks", ownerKey, task));
        await market.Client.WaitAsync(task.TaskId, r => r.SettledWithPayouts, TimeSpan.FromSeconds(90), ct);

        // The task and its predictions: the owner sees them, another buyer gets 404 as if they did not exist.
        Assert.Equal(HttpStatusCode.OK, await Status(HttpMethod.Get, $"{ingestion}/tasks/{task.TaskId}", ownerKey));
        Assert.Equal(HttpStatusCode.NotFound, await Status(HttpMethod.Get, $"{ingestion}/tasks/{task.TaskId}", otherKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status(HttpMethod.Get, $"{ingestion}/tasks/{task.TaskId}", null));
        var allocation = Url("Allocation");
        Assert.Equal(HttpStatusCode.NotFound, await Status(HttpMethod.Get, $"{allocation}/tasks/{task.TaskId}/prediction", otherKey));
        using (var prediction = await http.SendAsync(Request(HttpMethod.Get, $"{allocation}/tasks/{task.TaskId}/prediction", ownerKey), ct))
        {
            Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
            var p = await prediction.Content.ReadFromJsonAsync<PredictionDelivered>(ct);
            Assert.Equal(market.Client.Report(task.TaskId).Prediction!.Predictions, p!.Predictions);
        }

        // Payouts: a seller sees its own; another seller's key is refused.
        var payout = Url("Payout");
        var seller = scenario.Sellers.SellerIds[0];
        var sellerKey = keys.Issue(ParticipantRole.Seller, seller);
        using (var mine = await http.SendAsync(Request(HttpMethod.Get, $"{payout}/sellers/{seller}/payouts", sellerKey), ct))
        {
            Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
            var json = JsonDocument.Parse(await mine.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Contains(json.GetProperty("payouts").EnumerateArray(), x => x.GetProperty("taskId").GetGuid() == task.TaskId);
        }
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Get, $"{payout}/sellers/{seller}/payouts", keys.Issue(ParticipantRole.Seller, scenario.Sellers.SellerIds[1])));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Get, $"{payout}/sellers/{seller}/payouts", ownerKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status(HttpMethod.Get, $"{payout}/sellers/{seller}/payouts", null));
        // A seller cannot write another seller's series.
        Assert.Equal(HttpStatusCode.Forbidden, await Status(HttpMethod.Post, $"{ingestion}/sellers/{seller}/observations",
            keys.Issue(ParticipantRole.Seller, scenario.Sellers.SellerIds[1]), new { fromStep = 400, values = new[] { 1.0 } }));
    });

    [Fact]
    public Task Raw_features_never_reach_a_buyer() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var raw = new HashSet<long>();
        for (var m = 0; m < scenario.Sellers.Sellers; m++)
            foreach (var v in scenario.Sellers.Row(m)) raw.Add(BitConverter.DoubleToInt64Bits(v));

        // Everything the buyer-facing client heard about some tasks, and every HTTP answer a buyer gets about them.
        var marketId = Scenarios.NewMarketId("leak");
        var ids = new List<Guid>();
        for (var n = 20; n < 26; n++)
        {
            var b = scenario.Buyers[n];
            var t = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
            ids.Add(t.TaskId);
            await market.Client.SubmitAsync(t, ct);
        }
        await market.Client.WaitAllAsync(ids, TimeSpan.FromSeconds(120), null, ct);
        using var http = new HttpClient();
        var texts = new List<string>();
        foreach (var id in ids)
        {
            var r = market.Client.Report(id);
            texts.AddRange(new object?[] { r.Accepted, r.Charged, r.Prediction, r.Settled, r.PriceUpdate }.Where(o => o is not null).Select(o => JsonSerializer.Serialize(o)));
            texts.AddRange(r.Payouts.Values.Select(p => JsonSerializer.Serialize(p)));
            var key = market.Keys.Issue(ParticipantRole.Buyer, r.Charged!.BuyerId);
            foreach (var url in new[] { $"{market.IngestionUrl}/tasks/{id}", $"{Url("Allocation")}/tasks/{id}/prediction" })
            {
                using var response = await http.SendAsync(Request(HttpMethod.Get, url, key), ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                texts.Add(await response.Content.ReadAsStringAsync(ct));
            }
        }
        var leaked = texts.SelectMany(Numbers).Count(v => raw.Contains(BitConverter.DoubleToInt64Bits(v)));
        Assert.True(texts.Count >= ids.Count * 8, "too little was scanned");
        Assert.Equal(0, leaked);

        // On the bus, raw features travel only on market-internal exchanges (ParticipantTests shows a participant's account
        // can reach none of them).
        var exchanges = await market.Rabbit.ExchangesAsync(market.Vhost, ct);
        Assert.Contains(MarketLimits.InternalExchangePrefix + "feature-observations-appended", exchanges);
        Assert.DoesNotContain(exchanges, e => e.EndsWith(":FeatureObservationsAppended", StringComparison.Ordinal));
        Assert.DoesNotContain(exchanges, e => e.EndsWith(":AppendFeatureObservations", StringComparison.Ordinal));
    });

    internal static IEnumerable<double> Numbers(string json)
    {
        var stack = new Stack<JsonElement>();
        using var doc = JsonDocument.Parse(json);
        stack.Push(doc.RootElement.Clone());
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            switch (e.ValueKind)
            {
                case JsonValueKind.Number when e.TryGetDouble(out var d): yield return d; break;
                case JsonValueKind.Array: foreach (var x in e.EnumerateArray()) stack.Push(x); break;
                case JsonValueKind.Object: foreach (var p in e.EnumerateObject()) stack.Push(p.Value); break;
            }
        }
    }
}
