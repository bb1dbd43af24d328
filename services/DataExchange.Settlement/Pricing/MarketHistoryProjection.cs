using DataExchange.Contracts;
using JasperFx.Events;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

/// <summary>MarketOpened and MarketPriceUpdated (the market's stream), grouped by market.</summary>
public sealed partial class MarketHistoryProjection : MultiStreamProjection<MarketHistory, string>
{
    public MarketHistoryProjection()
    {
        Identity<MarketOpened>(e => e.MarketId);
        Identity<MarketPriceUpdated>(e => e.MarketId);
    }

    public MarketHistory Create(MarketOpened e) => Apply(e, new MarketHistory { Id = e.MarketId });

    public MarketHistory Create(IEvent<MarketPriceUpdated> e) => Apply(e, new MarketHistory { Id = e.Data.MarketId });

    public MarketHistory Apply(MarketOpened e, MarketHistory h)
    {
        h.Prices = e.Prices;
        h.OpenedAt = e.OpenedAt;
        return h;
    }

    // The market's stream is written by one writer at a time, in order: the last update applied is the latest.
    public MarketHistory Apply(IEvent<MarketPriceUpdated> e, MarketHistory h)
    {
        var u = e.Data;
        h.Updates = u.Updates;
        h.MeanPrice = u.MeanPrice;
        h.Weights = u.Weights;
        h.Revenue += u.Charge ?? 0m;
        h.LastUpdatedAt = e.Timestamp;
        return h;
    }
}
