using DataExchange.Pricing;
using DataExchange.ServiceDefaults;
using JasperFx.Events.Projections;
using MassTransit;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults("pricing",
    store =>
    {
        store.Projections.Snapshot<MarketPricing>(SnapshotLifecycle.Inline);
        store.Schema.For<PricedTask>();
        store.Schema.For<AppliedUpdate>();
        DataExchange.Settlement.SettlementProjections.Pricing(store);
    },
    bus =>
    {
        // Batches: one read and one commit of the market stream for many tasks, which is what lets a single
        // logical writer keep up with a burst. One batch at a time per instance; instances race on stream versions.
        bus.AddConsumer<QuoteConsumer>(c => c.Options<BatchOptions>(o => MarketBatches.Configure(o, messageLimit: 64, concurrency: 1)));
        bus.AddConsumer<PriceUpdateConsumer>(c => c.Options<BatchOptions>(o => MarketBatches.Configure(o, messageLimit: 64, concurrency: 1)));
    });
builder.Services.AddScoped<MarketPricer>();

var app = builder.Build();
app.MapMarketDefaults();
app.MapGet("/markets/{marketId}", async (string marketId, Marten.IQuerySession session, CancellationToken ct) =>
    await session.LoadAsync<MarketPricing>(marketId, ct) is { } m ? Results.Ok(m) : Results.NotFound());
app.Run();
