namespace DataExchange.Mechanism;

/// <summary>One seller's money from one task.</summary>
public sealed record SellerPayout(string SellerId, double Share, decimal Amount);
