using DataExchange.Contracts;
using JasperFx.Events;
using Marten.Events.Aggregation;

namespace DataExchange.Settlement;

/// <summary>PredictionDelivered and PaymentCharged of a task's stream in the allocation service's log.</summary>
public sealed partial class BuyerPurchaseProjection : SingleStreamProjection<BuyerPurchase, string>
{
    public BuyerPurchase Create(PredictionDelivered e) => Apply(e, new BuyerPurchase());

    public BuyerPurchase Create(IEvent<PaymentCharged> e) => Apply(e, new BuyerPurchase());

    public BuyerPurchase Apply(PredictionDelivered e, BuyerPurchase p)
    {
        p.TaskId = e.TaskId;
        p.BuyerId = e.BuyerId;
        p.Gain = e.Gain;
        p.PredictionsDelivered = e.Predictions.Length;
        return p;
    }

    public BuyerPurchase Apply(IEvent<PaymentCharged> e, BuyerPurchase p)
    {
        var c = e.Data;
        p.TaskId = c.TaskId;
        p.BuyerId = c.BuyerId;
        p.MarketId = c.MarketId;
        p.Gain = c.Gain;
        p.Charge = c.Charge;
        p.Price = c.Price;
        p.Bid = c.Bid;
        p.ChargedAt = e.Timestamp;
        return p;
    }
}
