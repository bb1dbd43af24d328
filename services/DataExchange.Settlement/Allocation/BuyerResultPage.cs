namespace DataExchange.Settlement;

/// <summary>A page of a buyer's results in log order (Next and CaughtUp as for <see cref="PayoutLinePage"/>).</summary>
public sealed record BuyerResultPage(string BuyerId, IReadOnlyList<BuyerResultView> Results, long Next, bool CaughtUp);
