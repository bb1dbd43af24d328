namespace DataExchange.Mechanism;

/// <summary>A price quote: the grid index and price drawn for a task.</summary>
public readonly record struct PriceQuote(int Index, double Price);
