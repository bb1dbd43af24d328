using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;
using Marten;
using MassTransit;

namespace DataExchange.Payout;

/// <summary>
/// A charged task: Shapley values of the sellers on the features as allocated (PD_A*), the replication-robust
/// shares (PD_B*), and the charge split in decimal so that charge = paid + retained + fee exactly. One SellerPaid per
/// seller and a TaskSettled, all in one commit that starts the task's stream: a redelivery never pays twice.
/// </summary>
public sealed class PaymentChargedConsumer(IDocumentSession session, MarketSettings settings, MarketMetrics metrics) : IConsumer<PaymentCharged>
{
    public async Task Consume(ConsumeContext<PaymentCharged> context)
    {
        var p = context.Message;
        var key = p.TaskId.ToString();
        if (await session.Events.FetchStreamStateAsync(key, context.CancellationToken) is not null) return;

        var sellers = await SellerSeriesStore.LoadAsync(session, p.SellerIds, p.FromStep, p.Target.Length, context.CancellationToken);
        SettlementOutcome outcome;
        using (MarketTelemetry.Source.StartActivity("PD_A* PD_B* settle"))
            outcome = MarketTask.Settle(sellers, p.Target, p.Bid, p.Price, p.Charge, TaskSeeds.FromTaskSeed(p.Seed), settings.Parameters);

        var split = outcome.Split;
        var settledAt = DateTimeOffset.UtcNow;
        var events = new List<object>(split.Payouts.Count + 1);
        events.AddRange(split.Payouts.Select(x => new SellerPaid(p.TaskId, x.SellerId, x.Share, x.Amount)));
        events.Add(new TaskSettled(p.TaskId, p.MarketId, p.BuyerId, split.Charge, split.PaidToSellers, split.Retained, split.Fee,
            outcome.Shapley.Permutations, p.SubmittedAt, settledAt));
        TraceContext.Record(session);
        session.Events.StartStream(key, events.ToArray());
        try
        {
            await session.SaveChangesAsync(context.CancellationToken);
            metrics.TaskSettled(split.Charge, settledAt - p.SubmittedAt);
        }
        catch (Exception e) when (StreamCollision.Is(e))
        {
            // Another delivery of the same task committed first.
        }
    }
}
