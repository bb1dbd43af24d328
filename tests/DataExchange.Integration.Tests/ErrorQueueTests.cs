using System.Globalization;
using DataExchange.Cli;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using MassTransit;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>A poison message ends in an error queue; dx lists it with its exception and sends it back once the cause is fixed.</summary>
[Collection(MarketCollection.Name)]
public sealed class ErrorQueueTests(MarketFixture market)
{
    private (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run([.. args, "--rabbitmq", market.RabbitMq, "--management", market.Rabbit.BaseAddress.ToString()], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public Task A_parked_message_is_listed_and_replayed_after_the_cause_is_fixed() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("poison");
        const string queue = "pricing-price-update";

        // A revenue curve for a market nobody opened: pricing cannot apply it and parks it (no retry can fix that).
        var orphan = Guid.NewGuid();
        var grid = PriceGrid.Create(new MarketParameters { ExpectedTasks = MarketFixture.ExpectedTasks });
        var endpoint = await market.Client.Bus.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(new PaymentCharged(orphan, marketId, "buyer-x", 0m, grid.Prices[3], 1.0, 0.5,
            Enumerable.Repeat(0.1, grid.Count).ToArray(), new double[20], 0, [], 1, DateTimeOffset.UtcNow), ct);

        Assert.True(await MarketFixture.EventuallyAsync(async () => Dx("errors", "list").Out.Contains($"{queue}_error", StringComparison.Ordinal)
            && (await market.FaultedQueuesAsync(ct)).Any(q => q.Name == $"{queue}_error" && q.Messages == 1), TimeSpan.FromSeconds(60), ct),
            "the poison message did not reach the error queue");
        var listing = Dx("errors", "list");
        Assert.Equal(0, listing.Code);
        Assert.Contains("PermanentFailureException", listing.Out);
        Assert.Contains("has no pricer", listing.Out);

        // Fix the cause: the market opens with its first task.
        var b = scenario.Buyers[0];
        var first = Guid.NewGuid();
        await market.Client.SubmitAsync(new SubmitPredictionTask(first, b.Id, b.Valuation, b.Target, 0, null, marketId), ct);
        await market.Client.WaitAsync(first, r => r.Settled is not null && r.PriceUpdate is not null, TimeSpan.FromSeconds(90), ct);

        var replay = Dx("errors", "replay", "--queue", $"{queue}_error");
        Assert.Equal(0, replay.Code);
        Assert.Contains("moved 1 message(s)", replay.Out);
        var updates = await Scenarios.WaitForPriceUpdatesAsync(market, marketId, 2, TimeSpan.FromSeconds(60), ct);
        Assert.Single(updates, u => u.Data.TaskId == orphan);
        Assert.Equal(2, updates.Count);
        Assert.True(await MarketFixture.EventuallyAsync(async () => !(await market.FaultedQueuesAsync(ct)).Any(), TimeSpan.FromSeconds(30), ct),
            "the error queue is not empty after the replay");
    });
}
