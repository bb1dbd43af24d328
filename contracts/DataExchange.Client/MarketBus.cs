using DataExchange.Contracts;
using MassTransit;

namespace DataExchange.Client;

/// <summary>
/// The one way a client builds its RabbitMQ bus: the market's JSON settings, and what it listens to. A participant's
/// account reads its own durable queue (what the market sent while the program was down waits there); the operator's
/// reads a temporary queue bound to the participants' deliveries; with no subscription the bus only publishes.
/// </summary>
public static class MarketBus
{
    /// <summary>What a bus listens to.</summary>
    public abstract record Subscription;

    /// <summary>A participant's own durable queue, bound by the operator (<c>dx participants add</c>).</summary>
    public sealed record OwnQueue(string Role, string Id) : Subscription;

    /// <summary>A temporary queue bound to the deliveries exchange with this routing key ("#", "seller.#", "buyer.ID").</summary>
    public sealed record Deliveries(string RoutingKey) : Subscription;

    public static IBusControl Create(string rabbitMq, Subscription? subscription = null, Action<IRabbitMqReceiveEndpointConfigurator>? handlers = null) =>
        Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbitMq));
            cfg.ConfigureJsonSerializerOptions(BusWireFormat.Apply);
            switch (subscription)
            {
                case OwnQueue own:
                    var queue = ParticipantBus.Queue(own.Role, own.Id);
                    // The bus's own reply queue must be one of the participant's names too (its account may create no other).
                    cfg.OverrideDefaultBusEndpointQueueName($"{queue}.bus-{Guid.NewGuid():N}");
                    cfg.ReceiveEndpoint(queue, e =>
                    {
                        e.ConfigureConsumeTopology = false; // bound by the operator; a participant may bind nothing to the market's exchanges
                        // The queue also carries messages a handler does not take (receipts, public prices). MassTransit would
                        // move them to "<queue>_skipped", which is not one of the account's names: the broker refuses the
                        // declare, closes the channel, and nothing is consumed (seen in the fault suite). Dropped instead.
                        e.DiscardSkippedMessages();
                        handlers?.Invoke(e);
                    });
                    break;
                case Deliveries deliveries:
                    cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e =>
                    {
                        e.ConfigureConsumeTopology = false;
                        // An observer bound to "buyer.#" also gets the predictions and charges it has no handler for.
                        // MassTransit would move each to "<queue>_skipped" (a publish and a stored message, at the moment
                        // payout is settling that task); the observer did not ask for them, so they are dropped.
                        e.DiscardSkippedMessages();
                        e.Bind(ParticipantBus.Deliveries, b =>
                        {
                            b.ExchangeType = "topic";
                            b.RoutingKey = deliveries.RoutingKey;
                        });
                        handlers?.Invoke(e);
                    });
                    break;
            }
        });
}
