using DataExchange.Contracts;
using MassTransit;

namespace DataExchange.Pricing;

public sealed class QuoteConsumer(MarketPricer pricer) : IConsumer<Batch<TaskSubmitted>>
{
    public Task Consume(ConsumeContext<Batch<TaskSubmitted>> context) =>
        pricer.Quote(context.Message.ToList(), context.CancellationToken);
}
