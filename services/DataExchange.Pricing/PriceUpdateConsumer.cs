using DataExchange.Contracts;
using MassTransit;

namespace DataExchange.Pricing;

public sealed class PriceUpdateConsumer(MarketPricer pricer) : IConsumer<Batch<PaymentCharged>>
{
    public Task Consume(ConsumeContext<Batch<PaymentCharged>> context) =>
        pricer.Update(context.Message.ToList(), context.CancellationToken);
}
