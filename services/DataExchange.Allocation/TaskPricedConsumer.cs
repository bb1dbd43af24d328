using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;
using Marten;
using MassTransit;

namespace DataExchange.Allocation;

/// <summary>
/// A priced task: allocate the sellers' features at noise max(0, p - b) (AF*), fit, measure the gain, charge RF*
/// (Eq. 3), compute the revenue curve PF* learns from, and deliver the predictions. The task's stream here is started
/// once, so a redelivered TaskPriced changes nothing.
/// </summary>
public sealed class TaskPricedConsumer(IDocumentSession session, MarketSettings settings) : IConsumer<TaskPriced>
{
    public async Task Consume(ConsumeContext<TaskPriced> context)
    {
        var t = context.Message;
        var key = t.TaskId.ToString();
        if (await session.Events.FetchStreamStateAsync(key, context.CancellationToken) is not null) return;

        var sellers = await SellerSeriesStore.LoadAsync(session, t.SellerIds, t.FromStep, t.Target.Length, context.CancellationToken);
        var parameters = settings.Parameters with
        {
            MinPrice = t.Grid.MinPrice, MaxPrice = t.Grid.MaxPrice, Lipschitz = t.Grid.Lipschitz, ExpectedTasks = t.Grid.ExpectedTasks,
        };
        var grid = PriceGrid.Create(parameters);
        var seeds = TaskSeeds.FromTaskSeed(t.Seed);
        AllocationOutcome outcome;
        using (MarketTelemetry.Source.StartActivity("AF* RF* allocate"))
            outcome = MarketTask.Allocate(sellers, t.Target, t.Bid, new PriceQuote(t.PriceIndex, t.Price), seeds.Noise, grid, parameters);

        TraceContext.Record(session);
        session.Events.StartStream(key,
            new FeaturesAllocated(t.TaskId, t.SellerIds, t.FromStep, t.Target.Length, outcome.NoiseScale, seeds.Noise),
            new PredictionDelivered(t.TaskId, t.BuyerId, outcome.Gain, t.FromStep + outcome.PredictionStart, outcome.Predictions),
            new PaymentCharged(t.TaskId, t.MarketId, t.BuyerId, outcome.Charge, t.Price, t.Bid, outcome.Gain, outcome.RevenueCurve,
                t.Target, t.FromStep, t.SellerIds, t.Seed, t.SubmittedAt));
        try
        {
            await session.SaveChangesAsync(context.CancellationToken);
        }
        catch (Exception e) when (StreamCollision.Is(e))
        {
            // Another delivery of the same task committed first.
        }
    }
}
