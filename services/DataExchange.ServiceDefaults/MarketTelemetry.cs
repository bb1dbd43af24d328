using System.Diagnostics;

namespace DataExchange.ServiceDefaults;

/// <summary>Names of the market's own telemetry.</summary>
public static class MarketTelemetry
{
    public const string SourceName = "DataExchange";
    public static readonly ActivitySource Source = new(SourceName);
}
