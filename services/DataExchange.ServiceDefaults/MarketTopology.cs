using DataExchange.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// Every queue the services consume from, and the message exchanges bound to it, as MassTransit declares them (durable
/// fanout exchanges, an exchange per endpoint bound to its queue). Each service declares all of them when it starts, so a
/// message published before the service that consumes it has ever started waits in its queue instead of being dropped by
/// an exchange with nothing bound (services may start in any order). A test compares this table with the broker's
/// bindings after the services declared their own endpoints, so it cannot drift from what MassTransit makes.
/// </summary>
public static class MarketTopology
{
    public sealed record Endpoint(string Queue, Type[] Messages)
    {
        public string[] MessageExchanges => Messages.Select(Exchange).ToArray();
    }

    public static readonly Endpoint[] Endpoints =
    [
        new("ingestion-register-seller", [typeof(RegisterSeller)]),
        new("ingestion-append-feature-observations", [typeof(AppendFeatureObservations)]),
        new("ingestion-submit-prediction-task", [typeof(SubmitPredictionTask)]),
        new("pricing-quote", [typeof(TaskSubmitted)]),
        new("pricing-price-update", [typeof(PaymentCharged)]),
        new("allocation-seller-series", [typeof(FeatureObservationsAppended), typeof(SellerRegistered)]),
        new("allocation-task-priced", [typeof(TaskPriced)]),
        new("payout-seller-series", [typeof(FeatureObservationsAppended), typeof(SellerRegistered)]),
        new("payout-payment-charged", [typeof(PaymentCharged)]),
        new("ingestion-participant-revoked", [typeof(ParticipantRevoked)]),
        new("pricing-participant-revoked", [typeof(ParticipantRevoked)]),
        new("allocation-participant-revoked", [typeof(ParticipantRevoked)]),
        new("payout-participant-revoked", [typeof(ParticipantRevoked)]),
    ];

    /// <summary>The exchange MassTransit publishes a message type to: its [EntityName], else "Namespace:Type".</summary>
    public static string Exchange(Type t) =>
        t.GetCustomAttributes(typeof(EntityNameAttribute), false) is [EntityNameAttribute a, ..] ? a.EntityName : $"{t.Namespace}:{t.Name}";

    /// <summary>Declares every endpoint (idempotent: the same arguments MassTransit uses).</summary>
    public static async Task DeclareAsync(string rabbitMqUri, CancellationToken ct)
    {
        var factory = new ConnectionFactory { Uri = new Uri(rabbitMqUri) };
        await using var connection = await factory.CreateConnectionAsync("dataexchange-topology", ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        foreach (var e in Endpoints)
        {
            await channel.QueueDeclareAsync(e.Queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct);
            await channel.ExchangeDeclareAsync(e.Queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
            await channel.QueueBindAsync(e.Queue, e.Queue, "", cancellationToken: ct);
            foreach (var source in e.MessageExchanges)
            {
                await channel.ExchangeDeclareAsync(source, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
                await channel.ExchangeBindAsync(e.Queue, source, "", cancellationToken: ct);
            }
        }
        // Where participants' messages go (participants' queues are bound by the operator, dx participants add).
        await channel.ExchangeDeclareAsync(ParticipantBus.Deliveries, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
        await channel.ExchangeDeclareAsync(ParticipantBus.MarketPrices, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
    }
}

/// <summary>Declares the market's topology before the bus starts (registered before MassTransit's hosted service).</summary>
internal sealed class TopologyDeclaration(ServiceSettings settings, ILogger<TopologyDeclaration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The broker may still be starting: keep trying for a while, as the bus itself would.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MarketTopology.DeclareAsync(settings.RabbitMq, cancellationToken);
                return;
            }
            catch (Exception e) when (attempt < 30 && e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Declaring the market's queues failed (attempt {Attempt}); retrying", attempt);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
