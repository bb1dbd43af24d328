using System.Globalization;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>
/// A market of its own: this run trades with the standard scenario's buyer ids, which would add results and payment
/// lines to the catch-up tests' buyers and sellers if it shared their database.
/// </summary>
public sealed class ReconcileFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class ReconcileCollection : ICollectionFixture<ReconcileFixture>
{
    public const string Name = "reconcile";
}

/// <summary>`dx market run` accounts for its tasks from the market's logs when the bus stops telling it.</summary>
[Collection(ReconcileCollection.Name)]
public sealed class MarketRunReconcileTests(ReconcileFixture market)
{
    private string Url(string service) => market.Processes.First(p => p.Name.StartsWith(service, StringComparison.OrdinalIgnoreCase) && !p.HasExited).Url;

    [Fact]
    public Task Market_run_whose_messages_stop_coming_accounts_for_every_task_from_the_logs() => market.Run(async () =>
    {
        // What a broker restart does to the operator's run (its temporary queue dropped, then declared again empty, while
        // the services publish), made certain: the run's queue is unbound from the deliveries as soon as it is bound, so
        // not one of its tasks is heard settled. It must account for all of them from the buyers' results and the sellers'
        // payment lines, exit 0. Mutation watched failing: without the reconciler (reconcile = null in
        // MarketRunCommand.RunAsync) the run waits out --timeout and exits 5.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        await market.EnsureSellersAsync(Scenarios.Standard.Value.Sellers, ct);
        // (MassTransit binds the deliveries to an exchange named after the endpoint's queue, and that to the queue.)
        var observers = (await market.Rabbit.BoundAsync(market.Vhost, ParticipantBus.Deliveries, "#", ct)).ToHashSet();
        Environment.SetEnvironmentVariable("DX_KEY_SECRET", market.KeySecret);
        try
        {
            var (outText, errText) = (new StringWriter(CultureInfo.InvariantCulture), new StringWriter(CultureInfo.InvariantCulture));
            const int tasks = 12;
            // The standard scenario's sellers (same seed and shape), so registering them again changes nothing.
            var run = Task.Run(() => DataExchange.Cli.Dx.Run(["market", "run", "--sellers", "20", "--steps", "400", "--seed", "42",
                "--buyers", tasks.ToString(CultureInfo.InvariantCulture), "--timeout", "150", "--no-progress", "--market-id", Scenarios.NewMarketId("reconcile"),
                "--ingestion", market.IngestionUrl, "--allocation-url", Url("Allocation"), "--payout", Url("Payout"), "--rabbitmq", market.RabbitMq],
                outText, errText), ct);
            (string, string)? queue = null;
            Assert.True(await MarketFixture.EventuallyAsync(async () =>
            {
                queue = (await market.Rabbit.BoundAsync(market.Vhost, ParticipantBus.Deliveries, "#", ct)).Where(q => !observers.Contains(q))
                    .Select(q => ((string, string)?)q).FirstOrDefault();
                return queue is not null || run.IsCompleted;
            }, TimeSpan.FromSeconds(60), ct) && queue is not null, "the run's queue was not bound: " + errText);
            await market.Rabbit.UnbindAsync(market.Vhost, ParticipantBus.Deliveries, queue!.Value, ct);
            var code = await run.WaitAsync(TimeSpan.FromMinutes(4), ct);
            var text = outText.ToString();
            Assert.True(code == 0, $"exit {code}: {errText}\n{text}");
            Assert.Contains($"Total Buyers       : {tasks} ({tasks} settled, 0 rejected)", text);
            Assert.Contains("Ledger balances    : yes", text);
            // Reconciled: every task, unless a first one settled before the queue was unbound.
            var reconciled = int.Parse(text.Split("Reconciled         : ")[1].Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.True(reconciled >= tasks - 1, text);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DX_KEY_SECRET", null);
        }
    });
}
