using DataExchange.Contracts;
using JasperFx.Events;

namespace DataExchange.ServiceDefaults;

/// <summary>One message for participants: where it goes (exchange and routing key) and what it says.</summary>
public sealed record ParticipantDelivery(string Exchange, string RoutingKey, object Message);

/// <summary>
/// What of a stored event reaches participants, and whom: each buyer its own task's acceptance or refusal, predictions,
/// charge, price update and settlement; each seller its own registration, observation receipts, refusals and payouts (per batch);
/// everyone the markets' opening terms and price distributions. Views leave out what is not the recipient's business
/// (the seed, the target, the revenue curve, other sellers' lines, which task moved the price). The one place where
/// stored events become participant messages.
/// </summary>
public static class ParticipantDeliveries
{
    /// <summary>A delivery made from stored events: <paramref name="Source"/> gives it its id and trace (see EventForwarder).</summary>
    public sealed record FromEvent(IEvent Source, int N, ParticipantDelivery Delivery);

    /// <summary>
    /// The stored event types that have a view for participants (the cases of <see cref="Of"/>): the outbox subscription
    /// reads only these and the services' types, not the rest of the log (<see cref="BusMessages.PublishedEventTypes"/>).
    /// </summary>
    public static IReadOnlyCollection<Type> ViewedEventTypes { get; } =
    [
        typeof(TaskSubmitted), typeof(TaskRejected), typeof(PredictionDelivered), typeof(PaymentCharged), typeof(TaskSettled),
        typeof(MarketPriceUpdated), typeof(MarketOpened), typeof(SellerRegistered), typeof(FeatureObservationsAppended),
        typeof(SellerCommandRejected),
    ];

    /// <summary>
    /// What events committed together (one commit, or one page of the outbox) bring participants: each event's own
    /// deliveries, except that a seller's payment lines among them (each a SellerPaid to that seller, see <see cref="Of"/>)
    /// go as one <see cref="SellerPayouts"/> — one message per seller per settlement batch, so a batch of 32 tasks with 20
    /// sellers is 20 messages instead of 640.
    /// </summary>
    public static IEnumerable<FromEvent> OfCommitted(IEnumerable<IEvent> events)
    {
        var lines = new Dictionary<string, (FromEvent First, List<SellerPaid> Lines)>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var n = 0;
            foreach (var d in Of(e.Data))
            {
                var delivery = new FromEvent(e, ++n, d);
                if (d.Message is not SellerPaid paid) yield return delivery;
                else if (lines.TryGetValue(paid.SellerId, out var group)) group.Lines.Add(paid);
                else lines[paid.SellerId] = (delivery, [paid]);
            }
        }
        // The seller's message takes the id and route of its first line's delivery.
        foreach (var (seller, group) in lines)
            yield return group.First with { Delivery = group.First.Delivery with { Message = new SellerPayouts(seller, group.Lines.ToArray()) } };
    }

    public static IEnumerable<ParticipantDelivery> Of(object stored)
    {
        static ParticipantDelivery Seller(string id, object m) => new(ParticipantBus.Deliveries, ParticipantBus.RoutingKey("seller", id), m);
        static ParticipantDelivery Buyer(string id, object m) => new(ParticipantBus.Deliveries, ParticipantBus.RoutingKey("buyer", id), m);
        static ParticipantDelivery Public(object m) => new(ParticipantBus.MarketPrices, "", m);

        switch (stored)
        {
            case TaskSubmitted t:
                yield return Buyer(t.BuyerId, new TaskAccepted(t.TaskId, t.MarketId, t.BuyerId, t.Bid, t.FromStep, t.Target.Length, t.SellerIds.Length, t.SubmittedAt));
                break;
            case TaskRejected r:
                // A task without a valid buyer id belongs to no participant: the routing key "buyer" alone reaches the
                // operator's observer (buyer.#) and no participant's queue (each is bound to buyer.ID).
                yield return MarketLimits.IdProblem(r.BuyerId) is null ? Buyer(r.BuyerId!, r) : new(ParticipantBus.Deliveries, "buyer", r);
                break;
            case PredictionDelivered p:
                yield return Buyer(p.BuyerId, p);
                break;
            case PaymentCharged c:
                yield return Buyer(c.BuyerId, new BuyerCharged(c.TaskId, c.MarketId, c.BuyerId, c.Charge, c.Price, c.Bid, c.Gain));
                break;
            case TaskSettled s:
                // The buyer's settlement without the sellers' lines (those are each seller's business).
                yield return Buyer(s.BuyerId, s with { Payouts = null });
                // Each seller its own line, from the statement rather than from the task's SellerPaid events (the same
                // lines, committed together): the outbox then need not read the SellerPaid events back, all of a settled
                // task's events but one (batched per commit by OfCommitted). Statements recorded before TaskSettled carried its lines have none.
                foreach (var line in s.Payouts ?? [])
                    yield return Seller(line.SellerId, new SellerPaid(s.TaskId, line.SellerId, line.Share, line.Amount));
                break;
            case MarketPriceUpdated u:
                if (u.BuyerId is { } buyer) yield return Buyer(buyer, u);
                yield return Public(new MarketPriceChanged(u.MarketId, u.Weights, u.Updates, u.MeanPrice));
                break;
            case MarketOpened o:
                yield return Public(o);
                break;
            case SellerRegistered r:
                yield return Seller(r.SellerId, r);
                break;
            case FeatureObservationsAppended a:
                yield return Seller(a.SellerId, new ObservationsReceived(a.SellerId, a.FromStep, a.Values.Length));
                break;
            case SellerCommandRejected r when MarketLimits.IdProblem(r.SellerId) is null:
                yield return Seller(r.SellerId!, r);
                break;
        }
    }
}
