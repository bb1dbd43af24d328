namespace DataExchange.Reports;

/// <summary>PF* after one task: the update's number, the mean price after it, the task's quoted price and revenue.</summary>
public sealed record PricePoint(long Update, Guid TaskId, double MeanPrice, double? QuotedPrice, decimal? Revenue);
