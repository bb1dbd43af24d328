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
public sealed record BuyerLine(string BuyerId, int Tasks, decimal Charged, double GainBought, int PredictionsDelivered);

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
    /// <summary>Reads TaskSettlement and SellerAccount (payout), BuyerAccount (allocation) and MarketHistory (pricing).</summary>
    public static async Task<SettlementReport> BuildAsync(IQuerySession payout, IQuerySession allocation, IQuerySession pricing,
        ReportPeriod period, string? marketId, CancellationToken ct)
    {
        var settlements = (await payout.Query<TaskSettlement>().Where(t => t.SettledAt != null).ToListAsync(ct))
            .Where(t => period.Contains(t.SettledAt!.Value) && (marketId is null || t.MarketId == marketId))
            .OrderBy(t => t.SettledAt).ThenBy(t => t.TaskId)
            .ToList();
        var tasks = settlements.Select(t => new TaskLine(t.TaskId, t.MarketId, t.BuyerId, t.SettledAt!.Value, t.Charge, t.PaidToSellers, t.Retained, t.Fee)).ToList();
        var inPeriod = tasks.Select(t => t.TaskId).ToHashSet();

        var sellers = (await payout.Query<SellerAccount>().ToListAsync(ct))
            .Select(a => (a, payouts: a.Payouts.Where(p => inPeriod.Contains(p.TaskId)).ToList()))
            .Where(x => x.payouts.Count > 0)
            .Select(x => new SellerLine(x.a.Id, x.payouts.Select(p => p.TaskId).Distinct().Count(), x.payouts.Sum(p => p.Amount), x.a.Balance))
            .OrderBy(s => s.SellerId, StringComparer.Ordinal)
            .ToList();

        var buyers = (await allocation.Query<BuyerAccount>().ToListAsync(ct))
            .Select(a => (a, bought: a.Purchases.Where(p => inPeriod.Contains(p.TaskId)).OrderBy(p => p.TaskId).ToList()))
            .Where(x => x.bought.Count > 0)
            .Select(x => new BuyerLine(x.a.Id, x.bought.Count, x.bought.Sum(p => p.Charge), x.bought.Sum(p => p.Gain), x.bought.Sum(p => p.PredictionsDelivered)))
            .OrderBy(b => b.BuyerId, StringComparer.Ordinal)
            .ToList();

        var marketIds = tasks.Select(t => t.MarketId).Distinct().ToList();
        var histories = marketIds.Count == 0 ? [] : await pricing.LoadManyAsync<MarketHistory>(ct, marketIds);
        var markets = histories
            .Select(h =>
            {
                var quotes = h.Quotes.Where(q => inPeriod.Contains(q.TaskId)).ToDictionary(q => q.TaskId);
                var points = h.Updates.Where(u => inPeriod.Contains(u.TaskId)).OrderBy(u => u.Updates)
                    .Select(u => new PricePoint(u.Updates, u.TaskId, u.MeanPrice, u.Price ?? quotes.GetValueOrDefault(u.TaskId)?.Price, u.Charge))
                    .ToList();
                return new MarketLine(h.Id, tasks.Count(t => t.MarketId == h.Id), quotes.Count, points.Sum(p => p.Revenue ?? 0m), points);
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
