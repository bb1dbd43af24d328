namespace DataExchange.Settlement;

/// <summary>A payment line as a seller reads it over HTTP (GET /sellers/{id}/payouts?after=CURSOR).</summary>
public sealed record PayoutLineView(long Cursor, Guid TaskId, string SellerId, double Share, decimal Amount, DateTimeOffset SettledAt)
{
    public static PayoutLineView Of(PayoutLine l) => new(l.Cursor, l.TaskId, l.SellerId, l.Share, l.Amount, l.SettledAt);
}
