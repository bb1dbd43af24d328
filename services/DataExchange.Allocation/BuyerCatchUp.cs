using DataExchange.Contracts;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Allocation;

/// <summary>A buyer's results (gain, predictions, charge) after a cursor (or from a time), in the allocation log's order.</summary>
public static class BuyerCatchUp
{
    // A result carries the task's predictions (up to a series' length), so pages are smaller than a seller's.
    public const int DefaultLimit = 20, MaxLimit = 100;

    public static async Task<BuyerResultPage> PageAsync(IQuerySession session, string buyerId, CatchUpQuery q, CancellationToken ct)
    {
        var query = session.Query<BuyerResult>().Where(r => r.BuyerId == buyerId && r.Cursor > q.After && r.Complete);
        if (q.From is { } from) query = query.Where(r => r.ChargedAt >= from);
        var results = await query.OrderBy(r => r.Cursor).Take(q.Limit).ToListAsync(ct);
        // The predictions of this page's tasks only, from their streams (stream ids are indexed).
        var streams = results.Select(r => r.Id).ToArray();
        var delivered = streams.Length == 0 ? [] : await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamKey!.IsOneOf(streams) && e.EventTypeName == "prediction_delivered")
            .ToListAsync(ct);
        var predictions = delivered.Select(e => e.Data).OfType<PredictionDelivered>().ToDictionary(p => p.TaskId, p => p.Predictions);
        var next = await q.NextAsync(results.Count > 0 ? results[^1].Cursor : null, async () =>
            (await session.Query<BuyerResult>().Where(r => r.BuyerId == buyerId && r.Complete)
                .OrderByDescending(r => r.Cursor).Select(r => r.Cursor).Take(1).ToListAsync(ct)).Select(c => (long?)c).FirstOrDefault());
        var views = results.Select(r => new BuyerResultView(r.Cursor, r.TaskId, r.MarketId, r.Gain, r.PredictionFromStep,
            predictions.GetValueOrDefault(r.TaskId) ?? [], r.Charge!.Value, r.ChargedAt)).ToList();
        return new BuyerResultPage(buyerId, views, next, results.Count < q.Limit);
    }
}
