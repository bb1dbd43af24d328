using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using MassTransit;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>
/// The rest of the bad inputs: an empty series, an unknown seller, a duplicate seller id, an oversized payload and a
/// message of a type nobody consumes. Each gets an answer naming the field and the reason (or is parked), nothing is
/// recorded twice, and a valid task sent alongside still settles.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class BadInputTests(MarketFixture market)
{
    [Fact]
    public Task Bad_inputs_are_refused_by_field_and_the_market_goes_on() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("badinput");
        using var http = market.ParticipantHttp();
        var b = scenario.Buyers[30];

        // An empty series, on the bus: TaskRejected naming the target.
        var empty = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, [], 0, null, marketId);
        await market.Client.SubmitAsync(empty, ct);
        // A message of a type ingestion does not consume, sent to its queue: parked in <queue>_skipped, nothing else happens.
        var endpoint = await market.Client.Bus.GetSendEndpoint(new Uri("queue:ingestion-submit-prediction-task"));
        await endpoint.Send(new SellerPaid(Guid.NewGuid(), "nobody", 0.5, 1m), ct);
        // A valid task alongside.
        var valid = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
        await market.Client.SubmitAsync(valid, ct);

        var rejected = await market.Client.WaitAsync(empty.TaskId, r => r.Rejected is not null, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("target", rejected.Rejected!.Field);
        Assert.Equal("is empty", rejected.Rejected.Reason);

        // Unknown seller: 404 naming sellerId; and over the bus a SellerCommandRejected is recorded.
        var unknown = $"nobody-{market.RunId}";
        using (var r = await http.PostAsJsonAsync($"/sellers/{unknown}/observations", new { fromStep = 0, values = new[] { 1.0, 2.0 } }, ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Contains("sellerId", await r.Content.ReadAsStringAsync(ct));
        }
        await market.Client.Bus.Publish(new AppendFeatureObservations(unknown, 0, [1.0, 2.0]), ct);
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (await market.Events.QueryAsync(EventLog.Ingestion, "seller_command_rejected", null, ct))
                .Any(e => e.Data<SellerCommandRejected>() is { SellerId: var s, Field: "sellerId" } && s == unknown), TimeSpan.FromSeconds(30), ct),
            "appending to an unknown seller over the bus was not refused with a reason");

        // A duplicate seller id registers once.
        var seller = $"dup-{market.RunId}";
        using (var first = await http.PostAsJsonAsync("/sellers", new RegisterSeller(seller), ct)) Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        using (var again = await http.PostAsJsonAsync("/sellers", new RegisterSeller(seller), ct))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Contains("duplicate", await again.Content.ReadAsStringAsync(ct));
        }
        Assert.Single(await market.Events.QueryAsync(EventLog.Ingestion, "seller_registered", [seller], ct));

        // An oversized payload (the documented 4 MiB limit of ingestion's HTTP bodies): 400 naming the body, nothing recorded.
        var huge = new StringBuilder("{\"taskId\":\"").Append(Guid.NewGuid()).Append("\",\"buyerId\":\"").Append(b.Id).Append("\",\"bid\":1,\"target\":[");
        while (huge.Length < 5 * 1024 * 1024) huge.Append("0.123456789012345,");
        huge.Append("1]}");
        using (var r = await http.PostAsync("/tasks", new StringContent(huge.ToString(), Encoding.UTF8, "application/json"), ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.True(problem.GetProperty("errors").TryGetProperty("body", out var why), "the problem does not name the body");
            Assert.Contains("bytes", why[0].GetString());
        }

        // The valid task settled; the stray message is parked, not lost and not processed.
        await market.Client.WaitAsync(valid.TaskId, r => r.SettledWithPayouts, TimeSpan.FromSeconds(90), ct);
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (await market.Rabbit.QueuesAsync(market.Vhost, ct)).Any(q => q.Name == "ingestion-submit-prediction-task_skipped" && q.Messages >= 1),
            TimeSpan.FromSeconds(30), ct), "the message of an unknown type was not parked in the _skipped queue");
        Assert.Single(await market.Events.QueryAsync(EventLog.Ingestion, null, [empty.TaskId.ToString()], ct));
    });
}
