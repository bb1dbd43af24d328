using DataExchange.Contracts;
using Marten;
using MassTransit;

namespace DataExchange.Replicas;

/// <summary>Keeps the replica: idempotent (a batch already held is ignored), in order (a gap waits for retry).</summary>
public sealed class SellerSeriesConsumer : IConsumer<SellerRegistered>, IConsumer<FeatureObservationsAppended>
{
    private readonly IDocumentSession _session;

    public SellerSeriesConsumer(IDocumentSession session) => _session = session;

    public async Task Consume(ConsumeContext<SellerRegistered> context)
    {
        var id = context.Message.SellerId;
        if (await _session.LoadAsync<SellerSeries>(id, context.CancellationToken) is not null) return;
        _session.Insert(new SellerSeries { Id = id });
        try
        {
            await _session.SaveChangesAsync(context.CancellationToken);
        }
        catch (JasperFx.DocumentAlreadyExistsException)
        {
            // Registered concurrently by a redelivery: nothing to do.
        }
    }

    public async Task Consume(ConsumeContext<FeatureObservationsAppended> context)
    {
        var m = context.Message;
        var series = await _session.LoadAsync<SellerSeries>(m.SellerId, context.CancellationToken)
            ?? throw new ReplicaNotReadyException($"seller '{m.SellerId}' is not registered here yet");
        var held = series.Values.Length;
        switch (series.Append(m.FromStep, m.Values))
        {
            case SeriesAppend.AlreadyHeld: return;
            case SeriesAppend.Gap:
                throw new ReplicaNotReadyException($"seller '{m.SellerId}': observations from step {m.FromStep} arrived before steps {held}..{m.FromStep - 1}");
        }
        // Optimistic concurrency on the document: two batches of one seller racing are retried in order.
        _session.Store(series);
        await _session.SaveChangesAsync(context.CancellationToken);
    }
}
