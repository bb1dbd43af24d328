namespace DataExchange.Reports;

/// <summary>A market's line: its tasks in the report (settled, or charged and unsettled), quotes, updates, revenue and price history.</summary>
public sealed record MarketLine(string MarketId, int Tasks, int Quotes, decimal Revenue, IReadOnlyList<PricePoint> Prices);
