namespace DataExchange.Settlement;

/// <summary>One task's payout to a seller: its share of the charge and the amount paid.</summary>
public sealed record SellerPayout(Guid TaskId, double Share, decimal Amount);
