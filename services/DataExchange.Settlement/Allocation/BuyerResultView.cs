namespace DataExchange.Settlement;

/// <summary>A task's result as its buyer reads it over HTTP (GET /buyers/{id}/results?after=CURSOR).</summary>
public sealed record BuyerResultView(long Cursor, Guid TaskId, string MarketId, double Gain, long PredictionFromStep, double[] Predictions,
    decimal Charge, DateTimeOffset? ChargedAt);
