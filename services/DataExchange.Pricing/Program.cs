using DataExchange.Contracts;
using DataExchange.Pricing;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Storage;
using DataExchange.Settings;
using DataExchange.Settlement;
using JasperFx.Events.Projections;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults(ServiceSchemas.Pricing,
    store =>
    {
        store.Projections.Snapshot<MarketPricing>(SnapshotLifecycle.Inline);
        store.Schema.For<PricedTask>();
        store.Schema.For<AppliedUpdate>();
        SettlementProjections.Pricing(store);
    },
    bus =>
    {
        // Batches: one read and one commit of the market stream for many tasks, which is what lets a single
        // logical writer keep up with a burst. One batch at a time per instance; instances race on stream versions.
        bus.AddBatchConsumer<QuoteConsumer, TaskSubmitted>(ServiceSchemas.Pricing, messageLimit: 64, concurrency: 1);
        bus.AddBatchConsumer<PriceUpdateConsumer, PaymentCharged>(ServiceSchemas.Pricing, messageLimit: 64, concurrency: 1);
    });
builder.Services.AddSingleton(MarketSettings.From(builder.Configuration));
builder.Services.AddScoped<MarketPricer>();

var app = builder.Build();
app.MapMarketDefaults();
app.MapMarketEndpoints();
app.Run();
