namespace DataExchange.Contracts;

/// <summary>
/// Where a participant's messages travel. The broker, not a convention, keeps each participant to its own business:
/// <list type="bullet">
/// <item>The market delivers to participants on one topic exchange, <see cref="Deliveries"/>, with routing key
/// "buyer.ID" or "seller.ID". The operator (<c>dx participants add</c>) binds each participant's own durable queue,
/// <see cref="Queue"/>, to its key; a participant's account may not bind anything to the exchange, so it receives exactly
/// what is routed to it, also while it is disconnected.</item>
/// <item>Public by design: <see cref="MarketPrices"/> (fanout) carries each market's price distribution after every
/// update (<see cref="MarketPriceChanged"/>), bound to every participant's queue.</item>
/// <item>A buyer publishes its tasks to its own exchange, <see cref="SubmitExchange"/>, which the operator binds to the
/// market's intake; the market attributes a task to the buyer whose exchange it came through, never to the BuyerId in
/// the body alone.</item>
/// <item>A participant's account may configure, write and read only names that start with "participant.ROLE.ID"; it
/// has no permission on the services' own exchanges and queues.</item>
/// </list>
/// </summary>
public static class ParticipantBus
{
    /// <summary>The HTTP header that carries a participant's key.</summary>
    public const string KeyHeader = "X-Api-Key";

    /// <summary>The topic exchange of deliveries to participants (routing key "buyer.ID" or "seller.ID").</summary>
    public const string Deliveries = "dataexchange.participants";
    /// <summary>The fanout exchange of public market data (price distribution updates).</summary>
    public const string MarketPrices = "dataexchange.market-prices";

    /// <summary>"buyer" or "seller", as in routing keys, account names and queue names.</summary>
    public static string Role(bool seller) => seller ? "seller" : "buyer";

    /// <summary>The broker account of a participant: "buyer.ID" or "seller.ID".</summary>
    public static string Account(string role, string id) => $"{role}.{id}";

    /// <summary>The routing key of deliveries to a participant.</summary>
    public static string RoutingKey(string role, string id) => $"{role}.{id}";

    /// <summary>A participant's own durable queue: "participant.buyer.ID" or "participant.seller.ID".</summary>
    public static string Queue(string role, string id) => $"participant.{role}.{id}";

    /// <summary>A buyer's own exchange for its tasks.</summary>
    public static string SubmitExchange(string buyerId) => $"participant.buyer.{buyerId}.submit";

    /// <summary>The buyer a task exchange belongs to, or null for any other exchange.</summary>
    public static string? BuyerOfSubmitExchange(string? exchange) =>
        exchange is { } e && e.StartsWith("participant.buyer.", StringComparison.Ordinal) && e.EndsWith(".submit", StringComparison.Ordinal)
            ? e["participant.buyer.".Length..^".submit".Length]
            : null;
}

/// <summary>To the buyer: its task was accepted (the bid, the window, how many sellers' data it will use).</summary>
public sealed record TaskAccepted(Guid TaskId, string MarketId, string BuyerId, double Bid, long FromStep, int Steps, int Sellers, DateTimeOffset SubmittedAt);

/// <summary>To the buyer: what its task was charged (RF*, Eq. 3), at which quoted price, for which gain.</summary>
public sealed record BuyerCharged(Guid TaskId, string MarketId, string BuyerId, decimal Charge, double Price, double Bid, double Gain);

/// <summary>To the seller: observations were appended to its series (a receipt; the values stay with the market).</summary>
public sealed record ObservationsReceived(string SellerId, long FromStep, int Count);

/// <summary>
/// To the seller: its payment lines of one settlement batch (the tasks payout settled in one commit), one message per
/// seller per batch instead of one per task. Each line names the task it settles; a line can arrive again after a
/// fault (at least once), so a seller keeps each (TaskId, SellerId) once.
/// </summary>
public sealed record SellerPayouts(string SellerId, SellerPaid[] Lines);

/// <summary>Public: a market's price distribution after an update (PF*), without the task or buyer that caused it.</summary>
/// <remarks>The grid prices the weights belong to are in the market's MarketOpened, delivered on the same exchange.</remarks>
public sealed record MarketPriceChanged(string MarketId, double[] Weights, long Updates, double MeanPrice);

/// <summary>
/// The operator closed a participant (<c>dx participants revoke</c>): every service refuses its HTTP key from then on.
/// Its broker account is deleted by the same command.
/// </summary>
[MassTransit.EntityName(MarketLimits.InternalExchangePrefix + "participant-revoked")]
public sealed record ParticipantRevoked(string Role, string Id, DateTimeOffset RevokedAt);
