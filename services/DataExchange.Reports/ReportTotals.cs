namespace DataExchange.Reports;

/// <summary>
/// Market totals. Charged is read from allocation's log (the buyers' recorded charges of every task in the report); paid,
/// retained and fee from payout's log (TaskSettled). The report balances when Charged = PaidToSellers + Retained + Fee +
/// ChargedUnsettled exactly, every settled task splits its charge exactly, its payout lines sum to its paid amount, its
/// charge equals the charge recorded in allocation's log, and no task is settled without a charge: Discrepancies is empty.
/// </summary>
public sealed record ReportTotals(int Tasks, decimal Charged, decimal PaidToSellers, decimal Retained, decimal Fee,
    int UnsettledTasks, decimal ChargedUnsettled, decimal PaidToSellerAccounts, decimal MarketRevenue, IReadOnlyList<string> Discrepancies)
{
    public bool Balances => Discrepancies.Count == 0;
}
