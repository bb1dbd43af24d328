using DataExchange.Contracts;
using JasperFx.Events;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// The one place where stored events become bus messages. The store keeps the market's events; what another service
/// consumes and what a participant receives are messages made from them here, so a stored event can change (a field
/// added, renamed, split) without changing what subscribers see: change its line here, not the subscribers. For the
/// services, each consumed event is today published as the same record; for participants, each recipient's view is
/// made by <see cref="ParticipantDeliveries"/>. An event with no line here and no participant view stays in the store.
/// </summary>
public static class BusMessages
{
    private static readonly Dictionary<Type, Func<object, object>> ToServices = new()
    {
        [typeof(TaskSubmitted)] = stored => stored,                // ingestion -> pricing (quote)
        [typeof(TaskPriced)] = stored => stored,                   // pricing -> allocation
        [typeof(PaymentCharged)] = stored => stored,               // allocation -> pricing (PF* update) and payout
        [typeof(SellerRegistered)] = stored => stored,             // ingestion -> the sellers' series replicas
        [typeof(FeatureObservationsAppended)] = stored => stored,  // ingestion -> the sellers' series replicas
    };

    /// <summary>The message types the services receive from other services' stores.</summary>
    public static IReadOnlyCollection<Type> ServiceMessageTypes => ToServices.Keys;

    /// <summary>The message the consuming services receive for a stored event, or null if no service consumes it.</summary>
    public static object? ForServices(object stored) => ToServices.TryGetValue(stored.GetType(), out var map) ? map(stored) : null;

    private static readonly HashSet<Type> Published = [.. ToServices.Keys, .. ParticipantDeliveries.ViewedEventTypes];

    /// <summary>The stored event types that can go on the bus (to a service or to a participant); the outbox reads no others.</summary>
    public static IReadOnlyCollection<Type> PublishedEventTypes => Published;

    /// <summary>
    /// Whether a stored event goes on the bus at all (to a service or to a participant). Decided by the same types the outbox
    /// reads, so the publish at commit and the outbox never disagree; a settlement's SellerPaid events stop at the type.
    /// </summary>
    public static bool IsPublished(IEvent e) =>
        Published.Contains(e.Data.GetType()) && (ToServices.ContainsKey(e.Data.GetType()) || ParticipantDeliveries.Of(e.Data).Any());
}
