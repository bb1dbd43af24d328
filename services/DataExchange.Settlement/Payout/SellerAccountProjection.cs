using DataExchange.Contracts;
using JasperFx.Events;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

/// <summary>
/// Each TaskSettled's payout lines, grouped by seller. The statement in TaskSettled carries the same lines as the task's
/// SellerPaid events, so the daemon reads one event per task instead of one per seller and task.
/// </summary>
public sealed class SellerAccountProjection : MultiStreamProjection<SellerAccount, string>
{
    public SellerAccountProjection()
    {
        Identities<TaskSettled>(e => e.Payouts is { } lines ? lines.Select(l => l.SellerId).ToArray() : []);
        // Evolve hides which events matter: without this the daemon would read every event of the log.
        IncludeType<TaskSettled>();
    }

    // The daemon applies each event once: it commits its progress with the documents. A seller appears once per
    // statement (one line per seller of the allocation).
    public override SellerAccount? Evolve(SellerAccount? snapshot, string id, IEvent e)
    {
        if (e.Data is not TaskSettled { Payouts: { } lines }) return snapshot;
        var account = snapshot ?? new SellerAccount { Id = id };
        foreach (var line in lines)
        {
            if (line.SellerId != id) continue;
            account.Balance += line.Amount;
            account.Payouts++;
            account.LastPaidAt = e.Timestamp;
        }
        return account;
    }
}
