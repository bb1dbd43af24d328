using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>
/// The operator's observers (`dx market run`: MarketClient on a temporary queue bound to the participants' deliveries)
/// take what they handle and drop the rest. The lighter one (`--watch settled`, bound to "buyer.#") also receives each
/// task's predictions and charge; MassTransit would move those to a "&lt;queue&gt;_skipped" queue, a publish and a stored
/// message per delivery while payout is settling the task, for a queue nobody reads.
/// </summary>
/// <remarks>
/// Deliberate break, run once against this test and reverted (2026-12-02, issue 12): without DiscardSkippedMessages in
/// MarketBus's Deliveries case, watched failing with the observers' "_skipped" queues listed.
/// </remarks>
[Collection(MarketCollection.Name)]
public sealed class ObserverTests(MarketFixture market)
{
    [Fact]
    public Task An_observer_keeps_no_skipped_queue_for_what_it_does_not_handle() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        await using var observer = await MarketClient.ConnectAsync(market.RabbitMq, market.IngestionUrl, ct, payouts: false);
        var marketId = Scenarios.NewMarketId("observer");

        // Two tasks one after the other: by the time the second is settled, the first task's predictions and charge
        // (published before its settlement) have long been received and dealt with.
        foreach (var b in scenario.Buyers.Take(2))
        {
            var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
            await observer.SubmitAsync(task, ct);
            var report = await observer.WaitAsync(task.TaskId, r => r.Settled is not null, TimeSpan.FromSeconds(90), ct);
            Assert.NotNull(report.Settled);
        }

        var skipped = (await market.Rabbit.QueuesAsync(market.Vhost, ct))
            .Where(q => q.Name.EndsWith("_skipped", StringComparison.Ordinal)
                && !MarketFixture.Services.Any(s => q.Name.StartsWith(s.ToLowerInvariant() + "-", StringComparison.Ordinal)))
            .Select(q => $"{q.Name} ({q.Messages} messages)").ToList();
        Assert.True(skipped.Count == 0, "observers' skipped queues: " + string.Join(", ", skipped));
    });
}
