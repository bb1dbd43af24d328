using Marten;

namespace DataExchange.Settlement;

/// <summary>The tasks a report covers: settled at or after From and before To (UTC; either end open when null).</summary>
public sealed record ReportPeriod(DateTimeOffset? From, DateTimeOffset? To)
{
    public bool Contains(DateTimeOffset t) => (From is null || t >= From) && (To is null || t < To);
}

/// <summary>A seller's line: tasks paid in the period, the amount, and the account's balance (all its payouts so far).</summary>
public sealed record SellerLine(string SellerId, int Tasks, decimal Paid, decimal Balance);

/// <summary>A buyer's line: tasks charged in the period, the amount, the gain bought (sum of G) and predictions delivered.</summary>
public sealed record BuyerLine(string BuyerId, int Tasks, decimal Charged, double GainBought, int PredictionsDelivered)
{
    /// <summary>A buyer's account over some purchases: their sum, in task-id order (the gain's double sum then does not
    /// depend on the order a query returned them in).</summary>
    public static BuyerLine Of(string buyerId, IEnumerable<BuyerPurchase> purchases)
    {
        var mine = purchases.Where(p => p.BuyerId == buyerId).OrderBy(p => p.TaskId).ToList();
        return new BuyerLine(buyerId, mine.Count, mine.Sum(p => p.Charge), mine.Sum(p => p.Gain), mine.Sum(p => p.PredictionsDelivered));
    }
}

/// <summary>A settled task: the charge and its split.</summary>
public sealed record TaskLine(Guid TaskId, string MarketId, string BuyerId, DateTimeOffset SettledAt, decimal Charge, decimal PaidToSellers,
    decimal Retained, decimal Fee)
{
    public bool Balances => Charge == PaidToSellers + Retained + Fee;
}

/// <summary>PF* after one task: the update's number, the mean price after it, the task's quoted price and revenue.</summary>
public sealed record PricePoint(long Update, Guid TaskId, double MeanPrice, double? QuotedPrice, decimal? Revenue);

/// <summary>A market's line: its tasks in the period, quotes, updates, revenue and price history.</summary>
public sealed record MarketLine(string MarketId, int Tasks, int Quotes, decimal Revenue, IReadOnlyList<PricePoint> Prices);

/// <summary>
/// Market totals. Charged = PaidToSellers + Retained + Fee for every task and in total; the buyers' accounts (allocation's log)
/// must show the same charges and the sellers' accounts (payout's log) the same payouts.
/// </summary>
public sealed record ReportTotals(int Tasks, decimal Charged, decimal PaidToSellers, decimal Retained, decimal Fee,
    decimal ChargedToBuyers, decimal PaidToSellerAccounts, decimal MarketRevenue, bool Balances);

/// <summary>The settlement report for a period, built from the projections only. Rows are sorted: rendering is deterministic.</summary>
public sealed record SettlementReport(ReportPeriod Period, string? MarketId, IReadOnlyList<SellerLine> Sellers, IReadOnlyList<BuyerLine> Buyers,
    IReadOnlyList<MarketLine> Markets, IReadOnlyList<TaskLine> Tasks, ReportTotals Totals)
{
    /// <summary>Reads TaskSettlement and SellerAccount (payout), BuyerPurchase (allocation), MarketHistory and PriceUpdate (pricing).</summary>
    public static async Task<SettlementReport> BuildAsync(IQuerySession payout, IQuerySession allocation, IQuerySession pricing,
        ReportPeriod period, string? marketId, CancellationToken ct)
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
        var inPeriod = tasks.Select(t => t.TaskId).ToHashSet();

        // The three logs are read through their own projections; the totals below check that they agree.
        var accounts = (await payout.Query<SellerAccount>().ToListAsync(ct)).ToDictionary(a => a.Id, StringComparer.Ordinal);
        var sellers = settlements.SelectMany(t => t.Payouts.Select(p => (t.TaskId, p.SellerId, p.Amount)))
            .GroupBy(p => p.SellerId, StringComparer.Ordinal)
            .Select(g => new SellerLine(g.Key, g.Select(p => p.TaskId).Distinct().Count(), g.Sum(p => p.Amount),
                accounts.TryGetValue(g.Key, out var a) ? a.Balance : 0m))
            .OrderBy(s => s.SellerId, StringComparer.Ordinal)
            .ToList();

        // A purchase's id is its task's stream id.
        var purchases = inPeriod.Count == 0 ? [] : await allocation.LoadManyAsync<BuyerPurchase>(ct, inPeriod.Select(t => t.ToString()).ToArray());
        var buyers = purchases.GroupBy(p => p.BuyerId, StringComparer.Ordinal)
            .Select(g => BuyerLine.Of(g.Key, g))
            .OrderBy(b => b.BuyerId, StringComparer.Ordinal)
            .ToList();

        var marketIds = tasks.Select(t => t.MarketId).Distinct().ToList();
        var histories = marketIds.Count == 0 ? [] : await pricing.LoadManyAsync<MarketHistory>(ct, marketIds);
        var updates = marketIds.Count == 0 ? [] : (await pricing.Query<PriceUpdate>().Where(u => u.MarketId.IsOneOf(marketIds)).ToListAsync(ct))
            .Where(u => inPeriod.Contains(u.TaskId)).ToList();
        var markets = histories
            .Select(h =>
            {
                var points = updates.Where(u => u.MarketId == h.Id).OrderBy(u => u.Updates)
                    .Select(u => new PricePoint(u.Updates, u.TaskId, u.MeanPrice, u.Price, u.Charge))
                    .ToList();
                return new MarketLine(h.Id, tasks.Count(t => t.MarketId == h.Id), points.Count(p => p.QuotedPrice is not null),
                    points.Sum(p => p.Revenue ?? 0m), points);
            })
            .OrderBy(m => m.MarketId, StringComparer.Ordinal)
            .ToList();

        var charged = tasks.Sum(t => t.Charge);
        var paid = tasks.Sum(t => t.PaidToSellers);
        var retained = tasks.Sum(t => t.Retained);
        var fee = tasks.Sum(t => t.Fee);
        var chargedToBuyers = buyers.Sum(b => b.Charged);
        var paidToAccounts = sellers.Sum(s => s.Paid);
        var payoutsMatch = settlements.All(t => t.Payouts.Sum(p => p.Amount) == t.PaidToSellers);
        var balances = tasks.All(t => t.Balances) && payoutsMatch && charged == paid + retained + fee
            && chargedToBuyers == charged && paidToAccounts == paid;
        var totals = new ReportTotals(tasks.Count, charged, paid, retained, fee, chargedToBuyers, paidToAccounts, markets.Sum(m => m.Revenue), balances);
        return new SettlementReport(period, marketId, sellers, buyers, markets, tasks, totals);
    }
}
