using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// Invalid tasks are refused with a reason naming the field — on the bus as TaskRejected, over HTTP as 400 problem
/// details — while the valid tasks sent in between all settle, and a task sent twice is settled once.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class ValidationTests(MarketFixture market, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public Task InvalidTasks_AreRejectedWithTheField_ValidOnesSettle_DuplicatesSettleOnce() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var longest = scenario.Sellers.Steps;
        var marketId = Scenarios.NewMarketId("validation");
        var client = market.Client;
        var buyers = scenario.Buyers;
        SubmitPredictionTask Valid(int n) =>
            new(Guid.NewGuid(), buyers[n].Id, buyers[n].Valuation, buyers[n].Target, 0, null, marketId);

        var nanTarget = buyers[1].Target.ToArray();
        nanTarget[7] = double.NaN;
        var invalid = new (SubmitPredictionTask Task, string Field)[]
        {
            (Valid(1) with { Target = nanTarget }, "target[7]"),
            (Valid(2) with { Target = new double[longest + 50] }, "target"),
            (Valid(3) with { Bid = 0 }, "bid"),
            (Valid(4) with { Bid = -1.5 }, "bid"),
            (Valid(5) with { Bid = 1e12 }, "bid"),
            (Valid(6) with { Bid = double.PositiveInfinity }, "bid"),
            (Valid(7) with { BuyerId = "" }, "buyerId"),
            (Valid(8) with { Target = buyers[8].Target[..5] }, "target"),
            (Valid(9) with { FromStep = -3 }, "fromStep"),
        };

        // The same valid task twice, back to back; then valid and invalid tasks interleaved.
        var duplicate = Valid(10);
        await client.SubmitAsync(duplicate, ct);
        await client.SubmitAsync(duplicate, ct);
        var valid = new List<SubmitPredictionTask> { duplicate };
        for (var i = 0; i < invalid.Length; i++)
        {
            await client.SubmitAsync(invalid[i].Task, ct);
            var v = Valid(20 + i);
            valid.Add(v);
            await client.SubmitAsync(v, ct);
        }

        // HTTP: unknown field, malformed JSON, and an invalid value; each a 400 with problem details naming the field.
        using var http = market.ParticipantHttp();
        var unknownFieldTask = Guid.NewGuid();
        var unknownField = JsonSerializer.Serialize(new
        {
            taskId = unknownFieldTask, buyerId = buyers[11].Id, bid = buyers[11].Valuation, target = buyers[11].Target, priority = "high",
        });
        await AssertProblem(await Post(http, unknownField, ct), "priority", ct);
        await AssertProblem(await Post(http, "{\"taskId\": \"" + Guid.NewGuid() + "\", \"buyerId\": \"b\", \"bid\": 1.2, \"target\": [1, 2,", ct), "body", ct);
        var badBidTask = Guid.NewGuid();
        await AssertProblem(await http.PostAsJsonAsync("/tasks", new { taskId = badBidTask, buyerId = buyers[12].Id, bid = -2.0, target = buyers[12].Target }, ct), "bid", ct);
        // Over HTTP, a valid task is accepted (202) and the same task again is recognised (200 duplicate).
        var httpValid = Valid(12);
        var accepted = await http.PostAsJsonAsync("/tasks", httpValid, ct);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        valid.Add(httpValid);

        // Every invalid task is refused on the bus, with the field and a reason.
        foreach (var (task, field) in invalid)
        {
            var r = await client.WaitAsync(task.TaskId, x => x.Rejected is not null || x.Accepted is not null, Timeout, ct);
            Assert.True(r.Rejected is not null, $"invalid task ({field}) was accepted ({r.Accepted})");
            Assert.Equal(field, r.Rejected!.Field);
            Assert.False(string.IsNullOrWhiteSpace(r.Rejected.Reason), $"{field}: no reason");
            output.WriteLine($"bus  {field,-10} {r.Rejected.Reason}");
        }
        // A body that names its task is refused on the bus too (the buyer hears of it there).
        foreach (var (id, field) in new[] { (unknownFieldTask, "priority"), (badBidTask, "bid") })
        {
            var r = await client.WaitAsync(id, x => x.Rejected is not null, Timeout, ct);
            Assert.Equal(field, r.Rejected!.Field);
            Assert.False(string.IsNullOrWhiteSpace(r.Rejected.Reason));
        }

        // The valid tasks all settle, with every seller paid.
        foreach (var v in valid)
        {
            var r = await client.WaitAsync(v.TaskId, x => x.Rejected is not null || x.SettledWithPayouts, Timeout, ct);
            Assert.True(r.Rejected is null, $"valid task {v.TaskId} was rejected: {r.Rejected?.Field} {r.Rejected?.Reason}");
        }
        var duplicateAgain = await http.PostAsJsonAsync("/tasks", duplicate, ct);
        Assert.Equal(HttpStatusCode.OK, duplicateAgain.StatusCode);
        Assert.Contains("duplicate", await duplicateAgain.Content.ReadAsStringAsync(ct));
        await client.SubmitAsync(duplicate, ct); // and once more on the bus, after it settled

        // Let the last duplicate and the price updates through, then count what each service recorded.
        await Scenarios.WaitForPriceUpdatesAsync(market, marketId, valid.Count, TimeSpan.FromSeconds(60), ct);
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (await market.Rabbit.QueuesAsync(market.Vhost, ct)).Where(q => q.Name.StartsWith("ingestion-", StringComparison.Ordinal))
                .All(q => q.Messages == 0 && q.Unacknowledged == 0), TimeSpan.FromSeconds(30), ct), "ingestion's queues did not drain");
        await Task.Delay(2000, ct);

        var validKeys = valid.Select(v => v.TaskId.ToString()).ToList();
        var invalidKeys = invalid.Select(i => i.Task.TaskId.ToString()).Append(badBidTask.ToString()).Append(unknownFieldTask.ToString()).ToList();
        var counts = new Dictionary<string, IReadOnlyList<StoredEvent>>
        {
            ["ingestion"] = await market.Events.QueryAsync(EventLog.Ingestion, null, validKeys.Concat(invalidKeys), ct),
            ["allocation"] = await market.Events.QueryAsync(EventLog.Allocation, "payment_charged", validKeys.Concat(invalidKeys), ct),
            ["payout"] = await market.Events.QueryAsync(EventLog.Payout, null, validKeys.Concat(invalidKeys), ct),
        };
        var priced = await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", validKeys.Concat(invalidKeys), ct);
        var updates = await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [marketId], ct);
        foreach (var key in validKeys)
        {
            Assert.Equal(["task_submitted"], counts["ingestion"].Where(e => e.StreamId == key).Select(e => e.Type));
            Assert.Single(counts["allocation"], e => e.StreamId == key);
            Assert.Single(counts["payout"], e => e.StreamId == key && e.Type == "task_settled");
            var paid = counts["payout"].Where(e => e.StreamId == key && e.Type == "seller_paid").Select(e => e.Data<SellerPaid>().SellerId).ToList();
            Assert.Equal(scenario.Sellers.Sellers, paid.Count);
            Assert.Equal(paid.Count, paid.Distinct().Count());
            Assert.Single(priced, p => p.Data.TaskId.ToString() == key);
            Assert.Single(updates, u => u.Data.TaskId.ToString() == key);
        }
        foreach (var key in invalidKeys)
        {
            Assert.Equal(["task_rejected"], counts["ingestion"].Where(e => e.StreamId == key).Select(e => e.Type));
            Assert.DoesNotContain(counts["allocation"], e => e.StreamId == key);
            Assert.DoesNotContain(counts["payout"], e => e.StreamId == key);
        }
        Assert.Equal(valid.Count, priced.Count);
        Assert.Equal(valid.Count, updates.Count);
        await Scenarios.AssertNoFaultsAsync(market, ct);
    });

    private static Task<HttpResponseMessage> Post(HttpClient http, string body, CancellationToken ct) =>
        http.PostAsync("/tasks", new StringContent(body, Encoding.UTF8, "application/json"), ct);

    private async Task AssertProblem(HttpResponseMessage response, string field, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400 for '{field}', got {(int)response.StatusCode}: {body}");
        Assert.StartsWith("application/problem+json", response.Content.Headers.ContentType?.ToString());
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(400, doc.RootElement.GetProperty("status").GetInt32());
        Assert.True(doc.RootElement.TryGetProperty("errors", out var errors), $"no errors in the problem details: {body}");
        Assert.True(errors.TryGetProperty(field, out var reasons), $"the problem details do not name '{field}': {body}");
        Assert.True(reasons.GetArrayLength() > 0 && !string.IsNullOrWhiteSpace(reasons[0].GetString()), $"no reason for '{field}': {body}");
        output.WriteLine($"http {field,-10} {reasons[0].GetString()}");
    }
}
