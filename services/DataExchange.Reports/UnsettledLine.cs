namespace DataExchange.Reports;

/// <summary>
/// A task charged in allocation's log (PaymentCharged) but not settled in payout's log by the period's end: in flight, payout
/// stopped, or its PaymentCharged parked in payout's error queue. Its charge is in the report's Charged and in ChargedUnsettled.
/// </summary>
public sealed record UnsettledLine(Guid TaskId, string MarketId, string BuyerId, DateTimeOffset ChargedAt, decimal Charge);
