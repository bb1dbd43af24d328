using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.ServiceDefaults;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>A market whose services have not started yet: the fixture starts ingestion alone.</summary>
public sealed class StartOrderFixture : MarketFixture
{
    protected override IReadOnlyList<string> ServicesAtStart => ["Ingestion"];
}

[CollectionDefinition(Name)]
public sealed class StartOrderCollection : ICollectionFixture<StartOrderFixture>
{
    public const string Name = "start order";
}

/// <summary>
/// Nothing is lost, whatever starts first: on a fresh market (a new vhost and database), sellers register and buyers
/// submit while only ingestion runs; then allocation, pricing and, last, payout start. Every task settles exactly once.
/// Without each service declaring the market's queues at start (MarketTopology), the sellers' observations and the
/// tasks were published to exchanges with nothing bound and dropped: no task could settle.
/// </summary>
[Collection(StartOrderCollection.Name)]
public sealed class StartOrderTests(StartOrderFixture market, ITestOutputHelper output)
{
    [Fact]
    public Task Tasks_submitted_before_the_other_services_ever_started_all_settle_and_the_declared_topology_is_MassTransits() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var scenario = SyntheticMarketFor.Small.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("order");
        var ids = new List<Guid>();
        foreach (var b in scenario.Buyers)
        {
            var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
            await market.Client.SubmitAsync(task, ct);
            ids.Add(task.TaskId);
        }
        // Accepted by ingestion while nothing downstream has ever run.
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (await market.Events.QueryAsync(EventLog.Ingestion, "task_submitted", ids.Select(i => i.ToString()).ToArray(), ct)).Count == ids.Count,
            TimeSpan.FromSeconds(60), ct), "ingestion did not accept the tasks");
        foreach (var service in new[] { "Allocation", "Pricing", "Payout" })
        {
            await Task.Delay(1000, ct);
            await market.StartInstanceAsync(service, ct);
            output.WriteLine($"{service} started");
        }
        await market.Client.WaitAllAsync(ids, TimeSpan.FromMinutes(3), null, ct);
        var settled = await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", ids.Select(i => i.ToString()).ToArray(), ct);
        Assert.Equal(ids.Count, settled.Count);
        Assert.Equal(ids.Count, settled.Select(s => s.Data.TaskId).Distinct().Count());
        Assert.All(settled, s => Assert.Equal(s.Data.Charge, s.Data.PaidToSellers + s.Data.Retained + s.Data.Fee));

        // Now that every service has started (and MassTransit declared its own endpoints), each service queue in the vhost
        // is in MarketTopology with exactly the message exchanges bound to its endpoint exchange.
        var bindings = await market.Rabbit.BindingsAsync(market.Vhost, ct);
        var queues = (await market.Rabbit.QueuesAsync(market.Vhost, ct)).Select(q => q.Name)
            .Where(q => MarketFixture.Services.Any(s => q.StartsWith(s.ToLowerInvariant() + "-", StringComparison.Ordinal)) && !q.EndsWith("_error") && !q.EndsWith("_skipped"))
            .Order().ToList();
        Assert.Equal(MarketTopology.Endpoints.Select(e => e.Queue).Order(), queues);
        foreach (var e in MarketTopology.Endpoints)
        {
            Assert.Contains((e.Queue, e.Queue, "queue"), bindings);
            var sources = bindings.Where(b => b.Destination == e.Queue && b.Kind == "exchange").Select(b => b.Source).Order();
            Assert.Equal(e.MessageExchanges.Order(), sources);
        }
    });
}

internal static class SyntheticMarketFor
{
    /// <summary>6 sellers x 200 steps, 12 buyers: small enough to settle quickly as the services come up.</summary>
    public static readonly Lazy<DataExchange.Mechanism.MarketScenario> Small = new(() => DataExchange.Mechanism.SyntheticMarket.Generate(6, 200, 12, 5));
}
