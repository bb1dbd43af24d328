using DataExchange.Contracts;
using DataExchange.Idempotency;
using DataExchange.Mechanism;
using DataExchange.Replicas;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Marten;
using MassTransit;

namespace DataExchange.Allocation;

/// <summary>
/// Priced tasks: allocate the sellers' features at noise max(0, p - b) (AF*), fit, measure the gain, charge RF*
/// (Eq. 3), compute the revenue curve PF* learns from, and deliver the predictions. A batch of tasks is one
/// transaction; each task's events start its stream, so a task done by a racing delivery fails the batch, which is
/// then retried without it.
/// </summary>
public sealed class TaskPricedConsumer(IDocumentSession session, MarketSettings settings, SellerSeriesStore sellers) : IConsumer<Batch<TaskPriced>>
{
    public async Task Consume(ConsumeContext<Batch<TaskPriced>> context)
    {
        var ct = context.CancellationToken;
        var messages = context.Message.DistinctBy(m => m.Message.TaskId).ToList();
        var fresh = await TaskMarkers.ToDoAsync<AllocatedTask, TaskPriced>(session, messages, m => m.TaskId, ct);
        if (fresh.Count == 0) return;
        foreach (var message in messages.Where(m => fresh.Contains(m.Message.TaskId)))
        {
            var t = message.Message;
            using var span = TraceContext.StartFor(message, "allocate task");
            var features = await sellers.LoadAsync(session, t.SellerIds, t.FromStep, t.Target.Length, ct);
            var parameters = Terms.Apply(Terms.OfMarket(t.Terms, settings), t.Grid);
            var seeds = TaskSeeds.FromTaskSeed(t.Seed);
            var outcome = MarketTask.Allocate(features, t.Target, t.Bid, new PriceQuote(t.PriceIndex, t.Price), seeds.Noise, PriceGrid.Create(parameters), parameters);

            var stream = session.Events.StartStream(t.TaskId.ToString(),
                new FeaturesAllocated(t.TaskId, t.SellerIds, t.FromStep, t.Target.Length, outcome.NoiseScale, seeds.Noise, Terms.Record(parameters)),
                new PredictionDelivered(t.TaskId, t.BuyerId, outcome.Gain, t.FromStep + outcome.PredictionStart, outcome.Predictions),
                new PaymentCharged(t.TaskId, t.MarketId, t.BuyerId, outcome.Charge, t.Price, t.Bid, outcome.Gain, outcome.RevenueCurve,
                    t.Target, t.FromStep, t.SellerIds, t.Seed, t.SubmittedAt, Terms.Record(parameters)));
            TraceContext.Stamp(stream.Events, TraceContext.Current(message));
            session.Insert(new AllocatedTask { Id = t.TaskId.ToString() });
        }
        await session.SaveChangesAsync(ct);
    }
}
