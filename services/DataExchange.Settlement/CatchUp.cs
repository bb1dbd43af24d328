using DataExchange.Contracts;
using JasperFx.Events;
using Marten;
using Marten.Events.Aggregation;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

// Catch-up for participants who were not listening: every payment line and every buyer's result, in the order of the
// service's own log, each with a cursor. The projection daemon commits its documents page after page in log order, so a
// reader always sees a prefix of the log: a line with a smaller cursor can never appear after one with a larger cursor
// was served, and "after = the last cursor I saw" never skips a line.

/// <summary>
/// One seller's line of one task's settlement (payout schema; id "task/seller"), from the task's TaskSettled statement.
/// <see cref="Cursor"/> = TaskSettled's sequence number in the payout log x <see cref="LinesPerEvent"/> + the line's
/// index: unique, and increasing in the log's order.
/// </summary>
public sealed class PayoutLine
{
    /// <summary>Room for a statement's lines within one event's cursors (a task has at most as many lines as sellers).</summary>
    public const long LinesPerEvent = 1_000_000;

    public string Id { get; set; } = "";
    public long Cursor { get; set; }
    public Guid TaskId { get; set; }
    public string SellerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Share { get; set; }
    public decimal Amount { get; set; }
    public DateTimeOffset SettledAt { get; set; }
}

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

/// <summary>
/// What a buyer received for one task (allocation schema; one per task stream): the gain and where its predictions start,
/// and the charge. The predictions themselves stay in the PredictionDelivered event (read for the tasks of one page only).
/// <see cref="Cursor"/> = the sequence number of the later of the task's PredictionDelivered and PaymentCharged, so a
/// result is served only once both are in, with a cursor above every one served before.
/// </summary>
public sealed class BuyerResult
{
    public string Id { get; set; } = "";
    public long Cursor { get; set; }
    public Guid TaskId { get; set; }
    public string BuyerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Gain { get; set; }
    public long PredictionFromStep { get; set; }
    public bool Delivered { get; set; }
    /// <summary>Null until the task's PaymentCharged is applied.</summary>
    public decimal? Charge { get; set; }
    public DateTimeOffset? ChargedAt { get; set; }
    public bool Complete { get; set; }
}

/// <summary>PredictionDelivered and PaymentCharged of a task's stream in the allocation service's log.</summary>
public sealed partial class BuyerResultProjection : SingleStreamProjection<BuyerResult, string>
{
    public BuyerResult Create(IEvent<PredictionDelivered> e) => Apply(e, new BuyerResult());

    public BuyerResult Create(IEvent<PaymentCharged> e) => Apply(e, new BuyerResult());

    public BuyerResult Apply(IEvent<PredictionDelivered> e, BuyerResult r)
    {
        r.TaskId = e.Data.TaskId;
        r.BuyerId = e.Data.BuyerId;
        r.Gain = e.Data.Gain;
        r.PredictionFromStep = e.Data.PredictionFromStep;
        r.Delivered = true;
        return Seen(e, r);
    }

    public BuyerResult Apply(IEvent<PaymentCharged> e, BuyerResult r)
    {
        r.TaskId = e.Data.TaskId;
        r.BuyerId = e.Data.BuyerId;
        r.MarketId = e.Data.MarketId;
        r.Charge = e.Data.Charge;
        r.ChargedAt = e.Timestamp;
        return Seen(e, r);
    }

    private static BuyerResult Seen(IEvent e, BuyerResult r)
    {
        r.Cursor = Math.Max(r.Cursor, e.Sequence);
        r.Complete = r.Delivered && r.Charge is not null;
        return r;
    }
}

/// <summary>A payment line as a seller reads it over HTTP (GET /sellers/{id}/payouts?after=CURSOR).</summary>
public sealed record PayoutLineView(long Cursor, Guid TaskId, string SellerId, double Share, decimal Amount, DateTimeOffset SettledAt)
{
    public static PayoutLineView Of(PayoutLine l) => new(l.Cursor, l.TaskId, l.SellerId, l.Share, l.Amount, l.SettledAt);
}

/// <summary>
/// A page of a seller's payment lines in log order. <paramref name="Next"/> is the cursor to ask after next time;
/// <paramref name="CaughtUp"/> says the page was not full (nothing more is there yet).
/// </summary>
public sealed record PayoutLinePage(string SellerId, IReadOnlyList<PayoutLineView> Lines, long Next, bool CaughtUp);

/// <summary>A task's result as its buyer reads it over HTTP (GET /buyers/{id}/results?after=CURSOR).</summary>
public sealed record BuyerResultView(long Cursor, Guid TaskId, string MarketId, double Gain, long PredictionFromStep, double[] Predictions,
    decimal Charge, DateTimeOffset? ChargedAt);

/// <summary>A page of a buyer's results in log order (Next and CaughtUp as for <see cref="PayoutLinePage"/>).</summary>
public sealed record BuyerResultPage(string BuyerId, IReadOnlyList<BuyerResultView> Results, long Next, bool CaughtUp);
