namespace DataExchange.Reports;

/// <summary>One projection rebuilt: how many events its schema's log holds and how long the rebuild took.</summary>
public sealed record RebuildResult(string Schema, string Projection, long Events, TimeSpan Elapsed)
{
    public double EventsPerSecond => Elapsed.TotalSeconds > 0 ? Events / Elapsed.TotalSeconds : 0;
}
