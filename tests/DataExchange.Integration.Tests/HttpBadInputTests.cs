using System.Net;
using System.Text;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>
/// The bad inputs of the bus tests, over HTTP: each a 400 problem naming the field and the reason, recorded as the task's
/// TaskRejected (so the buyer hears of it on the bus too); and a target over the documented length limit on the bus.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class HttpBadInputTests(MarketFixture market)
{
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "nan-target", "target[3]", "is NaN, not a finite number" },
        { "infinite-bid", "bid", "not a finite number" },
        { "zero-bid", "bid", "must be above 0" },
        { "absurd-bid", "bid", "refused as absurd" },
        { "empty-target", "target", "is empty" },
        { "too-long-target", "target", "no seller has observations that far" },
        { "empty-buyer", "buyerId", "is missing or empty" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public Task A_bad_task_over_http_is_refused_by_field(string kind, string field, string reason) => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var b = scenario.Buyers[40];
        var target = string.Join(",", b.Target.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var taskId = Guid.NewGuid();
        var (buyer, bid, series) = kind switch
        {
            "nan-target" => (b.Id, "1.2", "[1,2,3,\"NaN\"," + target + "]"),
            "infinite-bid" => (b.Id, "\"Infinity\"", "[" + target + "]"),
            "zero-bid" => (b.Id, "0", "[" + target + "]"),
            "absurd-bid" => (b.Id, "1e12", "[" + target + "]"),
            "empty-target" => (b.Id, "1.2", "[]"),
            "too-long-target" => (b.Id, "1.2", "[" + target + "," + target + "]"),
            "empty-buyer" => ("", "1.2", "[" + target + "]"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var body = $"{{\"taskId\":\"{taskId}\",\"buyerId\":\"{buyer}\",\"bid\":{bid},\"target\":{series},\"marketId\":\"{Scenarios.NewMarketId("httpbad")}\"}}";
        using var http = market.ParticipantHttp();
        using var response = await http.PostAsync("/tasks", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out var why), $"the problem does not name {field}: {problem}");
        Assert.Contains(reason, why[0].GetString());
        var recorded = await market.Events.QueryAsync<TaskRejected>(EventLog.Ingestion, "task_rejected", [taskId.ToString()], ct);
        Assert.Equal(field, Assert.Single(recorded).Data.Field);
    });

    [Fact]
    public Task A_target_over_the_length_limit_on_the_bus_is_refused() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var b = Scenarios.Standard.Value.Buyers[41];
        var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, new double[MarketLimits.MaxSeriesLength + 1], 0, null, Scenarios.NewMarketId("toolong"));
        await market.Client.SubmitAsync(task, ct);
        var r = await market.Client.WaitAsync(task.TaskId, x => x.Rejected is not null, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("target", r.Rejected!.Field);
        Assert.Contains($"at most {MarketLimits.MaxSeriesLength}", r.Rejected.Reason);
    });
}
