using Marten;

namespace DataExchange.Settlement;

/// <summary>
/// A seller's payouts as it reads them over HTTP (GET /sellers/{id}/payouts without a cursor): every payout line in the
/// payout log's order and the balance they make, all read from the same PayoutLine documents (so the two always agree).
/// </summary>
public sealed record SellerPayouts(string SellerId, decimal Balance, IReadOnlyList<SellerPayout> Payouts)
{
    /// <summary>The seller's lines from the PayoutLine projection; the caller first waits for it (<see cref="ProjectionFreshness"/>).</summary>
    public static async Task<SellerPayouts> ReadAsync(IQuerySession session, string sellerId, CancellationToken ct)
    {
        var lines = await session.Query<PayoutLine>().Where(l => l.SellerId == sellerId).OrderBy(l => l.Cursor).ToListAsync(ct);
        return new SellerPayouts(sellerId, lines.Sum(l => l.Amount), lines.Select(l => new SellerPayout(l.TaskId, l.Share, l.Amount)).ToList());
    }
}
