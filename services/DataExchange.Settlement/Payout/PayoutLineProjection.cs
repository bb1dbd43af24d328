using DataExchange.Contracts;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

/// <summary>Each TaskSettled's lines as PayoutLine documents (stored by id: projecting an event again changes nothing).</summary>
public sealed partial class PayoutLineProjection : EventProjection
{
    public PayoutLineProjection()
    {
        Name = nameof(PayoutLine);
    }

    public void Project(IEvent<TaskSettled> e, IDocumentOperations ops)
    {
        // Statements recorded before TaskSettled carried its lines have none to project.
        if (e.Data.Payouts is not { } lines) return;
        if (lines.Length >= PayoutLine.LinesPerEvent) throw new InvalidOperationException($"task {e.Data.TaskId}: {lines.Length} payout lines do not fit the cursor");
        for (var i = 0; i < lines.Length; i++)
            ops.Store(new PayoutLine
            {
                Id = $"{e.Data.TaskId}/{lines[i].SellerId}",
                Cursor = e.Sequence * PayoutLine.LinesPerEvent + i,
                TaskId = e.Data.TaskId,
                SellerId = lines[i].SellerId,
                MarketId = e.Data.MarketId,
                Share = lines[i].Share,
                Amount = lines[i].Amount,
                SettledAt = e.Data.SettledAt,
            });
    }
}
