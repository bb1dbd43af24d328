using System.Diagnostics.Metrics;

namespace DataExchange.ServiceDefaults;

/// <summary>The market's own metrics (meter "DataExchange"): tasks settled, revenue, current price, submit-to-settled latency.</summary>
public sealed class MarketMetrics : IDisposable
{
    private readonly Meter _meter = new(MarketTelemetry.SourceName);
    private readonly Counter<long> _settled;
    private readonly Counter<double> _revenue;
    private readonly Histogram<double> _latency;
    private double _currentPrice = double.NaN;

    public MarketMetrics()
    {
        _settled = _meter.CreateCounter<long>("dataexchange.tasks.settled", "{task}", "Tasks settled");
        _revenue = _meter.CreateCounter<double>("dataexchange.revenue", "{currency}", "Charges to buyers");
        _latency = _meter.CreateHistogram<double>("dataexchange.task.latency", "ms", "Submit to settled");
        _meter.CreateObservableGauge("dataexchange.price.current", () => _currentPrice, "{currency}", "Mean price under the current MWU weights");
    }

    public void TaskSettled(decimal charge, TimeSpan latency)
    {
        _settled.Add(1);
        _revenue.Add((double)charge);
        _latency.Record(latency.TotalMilliseconds);
    }

    public void PriceUpdated(double meanPrice) => _currentPrice = meanPrice;

    public void Dispose() => _meter.Dispose();
}
