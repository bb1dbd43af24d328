namespace DataExchange.Reports;

/// <summary>A settled task: the charge and its split.</summary>
public sealed record TaskLine(Guid TaskId, string MarketId, string BuyerId, DateTimeOffset SettledAt, decimal Charge, decimal PaidToSellers,
    decimal Retained, decimal Fee)
{
    public bool Balances => Charge == PaidToSellers + Retained + Fee;
}
