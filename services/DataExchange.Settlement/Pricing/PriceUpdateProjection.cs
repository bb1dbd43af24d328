using DataExchange.Contracts;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;

namespace DataExchange.Settlement;

/// <summary>Each MarketPriceUpdated as a PriceUpdate document (stored by id, so projecting an event again changes nothing).</summary>
public sealed partial class PriceUpdateProjection : EventProjection
{
    public PriceUpdateProjection()
    {
        Name = nameof(PriceUpdate);
    }

    public void Project(IEvent<MarketPriceUpdated> e, IDocumentOperations ops) => ops.Store(new PriceUpdate
    {
        Id = e.Data.TaskId.ToString(),
        MarketId = e.Data.MarketId,
        TaskId = e.Data.TaskId,
        Updates = e.Data.Updates,
        MeanPrice = e.Data.MeanPrice,
        Charge = e.Data.Charge,
        Price = e.Data.Price,
        Weights = e.Data.Weights,
        UpdatedAt = e.Timestamp,
    });
}
