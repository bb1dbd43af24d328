using System.Diagnostics;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// Without an exporter: the bus's, the market's and ASP.NET Core's activities exist (so W3C context flows through
/// messages, requests and the events' headers) but record no data.
/// </summary>
internal static class PropagationOnly
{
    private static ActivityListener? _listener;

    public static void Start()
    {
        if (_listener is not null) return;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or MarketTelemetry.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(_listener);
    }
}
