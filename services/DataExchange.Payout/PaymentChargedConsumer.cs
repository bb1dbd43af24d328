using DataExchange.Contracts;
using DataExchange.Idempotency;
using DataExchange.Mechanism;
using DataExchange.Replicas;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Marten;
using MassTransit;

namespace DataExchange.Payout;

/// <summary>
/// Charged tasks: Shapley values of the sellers on the features as allocated (PD_A*), the replication-robust shares
/// (PD_B*), and the charge split in decimal so that charge = paid + retained + fee exactly. One SellerPaid per seller
/// and a TaskSettled per task, a batch in one commit; each task's events start its stream, so nothing is paid twice.
/// </summary>
public sealed class PaymentChargedConsumer(IDocumentSession session, MarketSettings settings, SellerSeriesStore sellers, MarketMetrics metrics)
    : IConsumer<Batch<PaymentCharged>>
{
    public async Task Consume(ConsumeContext<Batch<PaymentCharged>> context)
    {
        var ct = context.CancellationToken;
        var messages = context.Message.DistinctBy(m => m.Message.TaskId).ToList();
        var fresh = await TaskMarkers.ToDoAsync<SettledTask, PaymentCharged>(session, messages, m => m.TaskId, ct);
        if (fresh.Count == 0) return;
        var settled = new List<TaskSettled>();
        foreach (var message in messages.Where(m => fresh.Contains(m.Message.TaskId)))
        {
            var p = message.Message;
            using var span = TraceContext.StartFor(message, "settle task");
            var features = await sellers.LoadAsync(session, p.SellerIds, p.FromStep, p.Target.Length, ct);
            var parameters = Terms.OfMarket(p.Terms, settings);
            var outcome = MarketTask.Settle(features, p.Target, p.Bid, p.Price, p.Charge, TaskSeeds.FromTaskSeed(p.Seed), parameters);

            var split = outcome.Split;
            // One statement line per seller, recorded also as that seller's SellerPaid event; the sellers hear their lines
            // from TaskSettled's (ParticipantDeliveries), so the outbox never reads the SellerPaid events back.
            var lines = split.Payouts.Select(x => new SellerShare(x.SellerId, x.Share, x.Amount)).ToArray();
            var events = new List<object>(lines.Length + 1);
            events.AddRange(lines.Select(l => new SellerPaid(p.TaskId, l.SellerId, l.Share, l.Amount)));
            var done = new TaskSettled(p.TaskId, p.MarketId, p.BuyerId, split.Charge, split.PaidToSellers, split.Retained, split.Fee,
                outcome.Shapley.Permutations, p.SubmittedAt, DateTimeOffset.UtcNow, Terms.Record(parameters), lines);
            events.Add(done);
            settled.Add(done);
            var stream = session.Events.StartStream(p.TaskId.ToString(), events.ToArray());
            TraceContext.Stamp(stream.Events, TraceContext.Current(message));
            session.Insert(new SettledTask { Id = p.TaskId.ToString() });
        }
        await session.SaveChangesAsync(ct);
        foreach (var s in settled) metrics.TaskSettled(s.Charge, s.SettledAt - s.SubmittedAt);
    }
}
