namespace DataExchange.Settlement;

/// <summary>
/// A page of a seller's payment lines in log order. <paramref name="Next"/> is the cursor to ask after next time;
/// <paramref name="CaughtUp"/> says the page was not full (nothing more is there yet).
/// </summary>
public sealed record PayoutLinePage(string SellerId, IReadOnlyList<PayoutLineView> Lines, long Next, bool CaughtUp);
