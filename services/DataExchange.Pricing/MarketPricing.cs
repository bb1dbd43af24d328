using DataExchange.Contracts;
using DataExchange.Idempotency;
using DataExchange.ServiceDefaults;
using DataExchange.Mechanism;
using System.Collections.Immutable;

namespace DataExchange.Pricing;

/// <summary>A market's pricer: the fold of its stream (MarketOpened, then MarketPriceUpdated after each task).</summary>
public sealed partial class MarketPricing
{
    public string Id { get; set; } = "";
    public PriceGridTerms Grid { get; set; } = new(0, 2, 1, 120);
    public double[] Prices { get; set; } = [];
    public double[] Weights { get; set; } = [];
    public long Updates { get; set; }
    /// <summary>The mechanism's terms the market opened with (null only for markets opened before terms were recorded).</summary>
    public MechanismTerms? Terms { get; set; }

    public static MarketPricing Create(MarketOpened e) => new()
    {
        Id = e.MarketId,
        Grid = e.Grid,
        Prices = e.Prices,
        Terms = e.Terms,
        Weights = Enumerable.Repeat(1.0, e.Prices.Length).ToArray(),
    };

    public void Apply(MarketPriceUpdated e)
    {
        Weights = e.Weights;
        Updates = e.Updates;
    }

    public PricerState State() => new(ImmutableArray.Create(Weights), Updates);
}
