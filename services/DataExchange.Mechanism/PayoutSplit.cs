namespace DataExchange.Mechanism;

/// <summary>
/// A task's ledger lines. Always Charge = sum(Payouts) + Retained + Fee, exactly, in decimal.
/// Retained is what PD_B* withheld plus rounding remainders: it stays with the market.
/// </summary>
public sealed record PayoutSplit(decimal Charge, decimal Fee, decimal Retained, IReadOnlyList<SellerPayout> Payouts)
{
    public decimal PaidToSellers => Payouts.Sum(p => p.Amount);
}
