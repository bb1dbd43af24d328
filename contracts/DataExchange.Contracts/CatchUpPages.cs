namespace DataExchange.Contracts;

// The catch-up API over HTTP: what a participant reads from the market's logs after a cursor (see the client's
// PayoutCatchUp and BuyerResultCatchUp). Cursors increase in each log's order.

/// <summary>A payment line as a seller reads it over HTTP (GET /sellers/{id}/payouts?after=CURSOR).</summary>
public sealed record PayoutLineView(long Cursor, Guid TaskId, string SellerId, double Share, decimal Amount, DateTimeOffset SettledAt);

/// <summary>
/// A page of a seller's payment lines in log order. <paramref name="Next"/> is the cursor to ask after next time;
/// <paramref name="CaughtUp"/> says the page was not full (nothing more is there yet).
/// </summary>
public sealed record PayoutLinePage(string SellerId, IReadOnlyList<PayoutLineView> Lines, long Next, bool CaughtUp);

/// <summary>A task's result as its buyer reads it over HTTP (GET /buyers/{id}/results?after=CURSOR).</summary>
public sealed record BuyerResultView(long Cursor, Guid TaskId, string MarketId, double Gain, long PredictionFromStep, double[] Predictions,
    decimal Charge, DateTimeOffset? ChargedAt);

/// <summary>A page of a buyer's results in log order (Next and CaughtUp as for <see cref="PayoutLinePage"/>).</summary>
public sealed record BuyerResultPage(string BuyerId, IReadOnlyList<BuyerResultView> Results, long Next, bool CaughtUp);
