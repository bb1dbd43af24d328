using DataExchange.Settlement;
using Marten;

namespace DataExchange.Reports;

/// <summary>
/// The settlement report for a period, built from the projections only. It covers the tasks settled in the period and the
/// tasks charged before its end but not settled by then (charged and unsettled). Rows are sorted: rendering is deterministic.
/// </summary>
public sealed record SettlementReport(ReportPeriod Period, string? MarketId, IReadOnlyList<SellerLine> Sellers, IReadOnlyList<BuyerLine> Buyers,
    IReadOnlyList<MarketLine> Markets, IReadOnlyList<TaskLine> Tasks, IReadOnlyList<UnsettledLine> Unsettled, ReportTotals Totals)
{
    /// <summary>
    /// Reads TaskSettlement and SellerAccount (payout), BuyerPurchase (allocation), MarketHistory and PriceUpdate (pricing).
    /// Settlements are read before charges, and <paramref name="beforeChargesAreRead"/> (when given) runs in between: a
    /// caller waits there for allocation's projection to reach the end of its log, so every settlement read has its charge
    /// projected (a charge commits before its settlement) and a task settled while the report is built is not taken for a
    /// settlement without a charge.
    /// </summary>
    public static async Task<SettlementReport> BuildAsync(IQuerySession payout, IQuerySession allocation, IQuerySession pricing,
        ReportPeriod period, string? marketId, CancellationToken ct, Func<CancellationToken, Task>? beforeChargesAreRead = null)
    {
        // The database narrows by market and period (a millisecond wider: its timestamps hold microseconds, the JSON
        // holds ticks); the exact period test is done here.
        var query = payout.Query<TaskSettlement>().Where(t => t.SettledAt != null);
        if (marketId is not null) query = query.Where(t => t.MarketId == marketId);
        if (period.From is { } from) query = query.Where(t => t.SettledAt >= from.AddMilliseconds(-1));
        if (period.To is { } to) query = query.Where(t => t.SettledAt < to.AddMilliseconds(1));
        var settlements = (await query.ToListAsync(ct))
            .Where(t => period.Contains(t.SettledAt!.Value))
            .OrderBy(t => t.SettledAt).ThenBy(t => t.TaskId)
            .ToList();
        var tasks = settlements.Select(t => new TaskLine(t.TaskId, t.MarketId, t.BuyerId, t.SettledAt!.Value, t.Charge, t.PaidToSellers, t.Retained, t.Fee)).ToList();
        var settled = tasks.Select(t => t.TaskId).ToHashSet();
        var accounts = (await payout.Query<SellerAccount>().ToListAsync(ct)).ToDictionary(a => a.Id, StringComparer.Ordinal);

        if (beforeChargesAreRead is not null) await beforeChargesAreRead(ct);

        // Charges come from allocation's log: every task charged before the period's end. A purchase is its task's stream.
        var charges = allocation.Query<BuyerPurchase>().Where(p => p.ChargedAt != null);
        if (marketId is not null) charges = charges.Where(p => p.MarketId == marketId);
        if (period.To is { } end) charges = charges.Where(p => p.ChargedAt < end.AddMilliseconds(1));
        var charged = (await charges.ToListAsync(ct)).Where(p => period.To is null || p.ChargedAt < period.To).ToDictionary(p => p.TaskId);
        // A settled task's charge may lie outside that query only if something is wrong (another market, or charged after
        // the settlement): look it up by id so the comparison below says what.
        var missing = settled.Where(id => !charged.ContainsKey(id)).Select(id => id.ToString()).ToArray();
        var recorded = new Dictionary<Guid, BuyerPurchase>(charged);
        if (missing.Length > 0)
            foreach (var p in await allocation.LoadManyAsync<BuyerPurchase>(ct, missing))
                if (p.ChargedAt is not null) recorded[p.TaskId] = p;

        // Charged but not settled in the period: unsettled unless settled before the period began (then in an earlier report).
        var candidates = charged.Keys.Where(id => !settled.Contains(id)).Select(id => id.ToString()).ToArray();
        var settledBefore = candidates.Length == 0 ? new HashSet<Guid>()
            : (await payout.Query<TaskSettlement>().Where(t => t.Id.IsOneOf(candidates) && t.SettledAt != null).ToListAsync(ct))
                .Where(t => period.To is null || t.SettledAt < period.To).Select(t => t.TaskId).ToHashSet();
        var unsettled = charged.Values.Where(p => !settled.Contains(p.TaskId) && !settledBefore.Contains(p.TaskId))
            .Select(p => new UnsettledLine(p.TaskId, p.MarketId, p.BuyerId, p.ChargedAt!.Value, p.Charge))
            .OrderBy(u => u.ChargedAt).ThenBy(u => u.TaskId)
            .ToList();
        var covered = settled.Concat(unsettled.Select(u => u.TaskId)).ToHashSet();

        var sellers = settlements.SelectMany(t => t.Payouts.Select(p => (t.TaskId, p.SellerId, p.Amount)))
            .GroupBy(p => p.SellerId, StringComparer.Ordinal)
            .Select(g => new SellerLine(g.Key, g.Select(p => p.TaskId).Distinct().Count(), g.Sum(p => p.Amount),
                accounts.TryGetValue(g.Key, out var a) ? a.Balance : 0m))
            .OrderBy(s => s.SellerId, StringComparer.Ordinal)
            .ToList();

        var purchases = covered.Where(recorded.ContainsKey).Select(id => recorded[id]).ToList();
        var buyers = purchases.GroupBy(p => p.BuyerId, StringComparer.Ordinal)
            .Select(g => BuyerLine.Of(g.Key, g))
            .OrderBy(b => b.BuyerId, StringComparer.Ordinal)
            .ToList();

        var marketIds = tasks.Select(t => t.MarketId).Concat(unsettled.Select(u => u.MarketId)).Distinct().ToList();
        var histories = marketIds.Count == 0 ? [] : await pricing.LoadManyAsync<MarketHistory>(ct, marketIds);
        var updates = marketIds.Count == 0 ? [] : (await pricing.Query<PriceUpdate>().Where(u => u.MarketId.IsOneOf(marketIds)).ToListAsync(ct))
            .Where(u => covered.Contains(u.TaskId)).ToList();
        var markets = histories
            .Select(h =>
            {
                var points = updates.Where(u => u.MarketId == h.Id).OrderBy(u => u.Updates)
                    .Select(u => new PricePoint(u.Updates, u.TaskId, u.MeanPrice, u.Price, u.Charge))
                    .ToList();
                return new MarketLine(h.Id, tasks.Count(t => t.MarketId == h.Id) + unsettled.Count(u => u.MarketId == h.Id),
                    points.Count(p => p.QuotedPrice is not null), points.Sum(p => p.Revenue ?? 0m), points);
            })
            .OrderBy(m => m.MarketId, StringComparer.Ordinal)
            .ToList();

        var discrepancies = new List<string>();
        foreach (var t in settlements)
        {
            if (t.Charge != t.PaidToSellers + t.Retained + t.Fee)
                discrepancies.Add($"task {t.TaskId}: charge {Money(t.Charge)} is not paid + retained + fee {Money(t.PaidToSellers + t.Retained + t.Fee)}");
            if (t.Payouts.Sum(p => p.Amount) != t.PaidToSellers)
                discrepancies.Add($"task {t.TaskId}: payout lines sum to {Money(t.Payouts.Sum(p => p.Amount))}, not the paid {Money(t.PaidToSellers)}");
            if (!recorded.TryGetValue(t.TaskId, out var charge))
                discrepancies.Add($"task {t.TaskId}: settled without a charge in allocation's log");
            else if (charge.Charge != t.Charge)
                discrepancies.Add($"task {t.TaskId}: settled charge {Money(t.Charge)} differs from the charge recorded in allocation's log {Money(charge.Charge)}");
        }
        var chargedTotal = purchases.Sum(p => p.Charge);
        var paid = tasks.Sum(t => t.PaidToSellers);
        var retained = tasks.Sum(t => t.Retained);
        var fee = tasks.Sum(t => t.Fee);
        var chargedUnsettled = unsettled.Sum(u => u.Charge);
        var paidToAccounts = sellers.Sum(s => s.Paid);
        if (chargedTotal != paid + retained + fee + chargedUnsettled)
            discrepancies.Add($"charged {Money(chargedTotal)} (allocation's log) is not paid + retained + fee + charged and unsettled " +
                              $"{Money(paid + retained + fee + chargedUnsettled)}");
        if (paidToAccounts != paid)
            discrepancies.Add($"sellers' lines sum to {Money(paidToAccounts)}, not the paid {Money(paid)}");
        var totals = new ReportTotals(tasks.Count, chargedTotal, paid, retained, fee, unsettled.Count, chargedUnsettled, paidToAccounts,
            markets.Sum(m => m.Revenue), discrepancies);
        return new SettlementReport(period, marketId, sellers, buyers, markets, tasks, unsettled, totals);
    }

    private static string Money(decimal d) => ReportRenderer.Money(d);
}
