namespace DataExchange.Reports;

/// <summary>The tasks a report covers: settled at or after From and before To (UTC; either end open when null).</summary>
public sealed record ReportPeriod(DateTimeOffset? From, DateTimeOffset? To)
{
    public bool Contains(DateTimeOffset t) => (From is null || t >= From) && (To is null || t < To);
}
