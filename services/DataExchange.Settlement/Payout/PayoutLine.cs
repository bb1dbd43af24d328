using DataExchange.Contracts;

namespace DataExchange.Settlement;

/// <summary>
/// One seller's line of one task's settlement (payout schema; id "task/seller"), from the task's TaskSettled statement.
/// <see cref="Cursor"/> = TaskSettled's sequence number in the payout log x <see cref="LinesPerEvent"/> + the line's
/// index: unique, and increasing in the log's order.
/// </summary>
public sealed class PayoutLine
{
    /// <summary>Room for a statement's lines within one event's cursors (a task has at most as many lines as sellers).</summary>
    public const long LinesPerEvent = 1_000_000;

    public string Id { get; set; } = "";
    public long Cursor { get; set; }
    public Guid TaskId { get; set; }
    public string SellerId { get; set; } = "";
    public string MarketId { get; set; } = "";
    public double Share { get; set; }
    public decimal Amount { get; set; }
    public DateTimeOffset SettledAt { get; set; }

    /// <summary>The line as its seller reads it over HTTP.</summary>
    public PayoutLineView View() => new(Cursor, TaskId, SellerId, Share, Amount, SettledAt);
}
