namespace DataExchange.Reports;

/// <summary>A seller's line: tasks paid in the period, the amount, and the account's balance (all its payouts so far).</summary>
public sealed record SellerLine(string SellerId, int Tasks, decimal Paid, decimal Balance);
