using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using Marten;
using MassTransit;
using Polly;

namespace DataExchange.Pricing;

/// <summary>
/// Quotes (Alg. 1: a price drawn from the weights before the bid is seen) and updates (PF*), each as events on the
/// market's stream, written with the stream's expected version: a second instance that wrote first makes this
/// one re-read and retry, so the weights are never corrupted and each update is applied once.
/// </summary>
public sealed class MarketPricer(IDocumentSession session, MarketSettings settings, ResiliencePipeline retry, MarketMetrics metrics)
{
    public async Task Quote(IReadOnlyList<ConsumeContext<TaskSubmitted>> tasks, CancellationToken ct)
    {
        foreach (var market in tasks.GroupBy(t => t.Message.MarketId))
        {
            await retry.ExecuteAsync(async token =>
            {
                session.EjectAllPendingChanges();
                var fresh = await TaskMarkers.FreshAsync<PricedTask>(session, market.Select(t => t.Message.TaskId), token);
                if (fresh.Count == 0) return;
                var stream = await session.Events.FetchForWriting<MarketPricing>(market.Key, token);
                var (pricing, opened) = Open(stream.Aggregate, market.Key);
                if (opened is not null) stream.AppendOne(opened);
                var grid = Grid(pricing.Grid);
                var state = pricing.State();
                foreach (var message in market.Where(t => fresh.Contains(t.Message.TaskId)).DistinctBy(t => t.Message.TaskId))
                {
                    var t = message.Message;
                    using var span = TraceContext.StartFor(message, "quote task");
                    var quote = MultiplicativeWeightsPricer.Quote(state, grid, TaskSeeds.FromTaskSeed(t.Seed).Price);
                    stream.AppendOne(new TaskPriced(t.TaskId, t.MarketId, t.BuyerId, t.Bid, t.Target, t.FromStep, t.SellerIds, t.Seed,
                        t.SubmittedAt, quote.Price, quote.Index, pricing.Grid, pricing.Updates));
                    TraceContext.StampLatest(session, market.Key, TraceContext.Current(message));
                    session.Insert(new PricedTask { Id = t.TaskId.ToString() });
                }
                await session.SaveChangesAsync(token);
            }, ct);
        }
    }

    public async Task Update(IReadOnlyList<ConsumeContext<PaymentCharged>> payments, CancellationToken ct)
    {
        foreach (var market in payments.GroupBy(p => p.Message.MarketId))
        {
            await retry.ExecuteAsync(async token =>
            {
                session.EjectAllPendingChanges();
                var fresh = await TaskMarkers.FreshAsync<AppliedUpdate>(session, market.Select(p => p.Message.TaskId), token);
                if (fresh.Count == 0) return;
                var stream = await session.Events.FetchForWriting<MarketPricing>(market.Key, token);
                var pricing = stream.Aggregate ?? throw new PermanentFailureException($"market '{market.Key}' has no pricer: a payment arrived for a task it never quoted");
                var grid = Grid(pricing.Grid);
                var state = pricing.State();
                foreach (var message in market.Where(p => fresh.Contains(p.Message.TaskId)).DistinctBy(p => p.Message.TaskId))
                {
                    var p = message.Message;
                    using var span = TraceContext.StartFor(message, "update price");
                    state = MultiplicativeWeightsPricer.Update(state, grid, p.RevenueCurve);
                    var mean = grid.MeanPrice(state);
                    stream.AppendOne(new MarketPriceUpdated(p.TaskId, p.MarketId, state.Weights.ToArray(), state.Updates, mean));
                    TraceContext.StampLatest(session, market.Key, TraceContext.Current(message));
                    session.Insert(new AppliedUpdate { Id = p.TaskId.ToString() });
                    metrics.PriceUpdated(mean);
                }
                await session.SaveChangesAsync(token);
            }, ct);
        }
    }

    private (MarketPricing Pricing, MarketOpened? Opened) Open(MarketPricing? existing, string marketId)
    {
        if (existing is not null) return (existing, null);
        var terms = settings.GridTerms;
        var opened = new MarketOpened(marketId, terms, Grid(terms).Prices.ToArray(), DateTimeOffset.UtcNow);
        return (MarketPricing.Create(opened), opened);
    }

    public static PriceGrid Grid(PriceGridTerms t) => PriceGrid.Create(new MarketParameters
    {
        MinPrice = t.MinPrice, MaxPrice = t.MaxPrice, Lipschitz = t.Lipschitz, ExpectedTasks = t.ExpectedTasks,
    });
}

public sealed class QuoteConsumer(MarketPricer pricer) : IConsumer<Batch<TaskSubmitted>>
{
    public Task Consume(ConsumeContext<Batch<TaskSubmitted>> context) =>
        pricer.Quote(context.Message.ToList(), context.CancellationToken);
}

public sealed class PriceUpdateConsumer(MarketPricer pricer) : IConsumer<Batch<PaymentCharged>>
{
    public Task Consume(ConsumeContext<Batch<PaymentCharged>> context) =>
        pricer.Update(context.Message.ToList(), context.CancellationToken);
}
