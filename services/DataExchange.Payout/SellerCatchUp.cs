using DataExchange.Contracts;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Payout;

/// <summary>A seller's payment lines after a cursor (or from a time), in the payout log's order.</summary>
public static class SellerCatchUp
{
    public const int DefaultLimit = 100, MaxLimit = 1000;

    public static async Task<PayoutLinePage> PageAsync(IQuerySession session, string sellerId, CatchUpQuery q, CancellationToken ct)
    {
        var query = session.Query<PayoutLine>().Where(l => l.SellerId == sellerId && l.Cursor > q.After);
        if (q.From is { } from) query = query.Where(l => l.SettledAt >= from);
        var lines = await query.OrderBy(l => l.Cursor).Take(q.Limit).ToListAsync(ct);
        var next = await q.NextAsync(lines.Count > 0 ? lines[^1].Cursor : null, async () =>
            (await session.Query<PayoutLine>().Where(l => l.SellerId == sellerId)
                .OrderByDescending(l => l.Cursor).Select(l => l.Cursor).Take(1).ToListAsync(ct)).Select(c => (long?)c).FirstOrDefault());
        return new PayoutLinePage(sellerId, lines.Select(l => l.View()).ToList(), next, lines.Count < q.Limit);
    }
}
