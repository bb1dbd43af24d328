using DataExchange.Contracts;
using JasperFx.Events;
using Marten.Events.Aggregation;

namespace DataExchange.Settlement;

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
