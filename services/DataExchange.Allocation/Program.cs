using DataExchange.Allocation;
using DataExchange.Contracts;
using DataExchange.Replicas;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Storage;
using DataExchange.Settings;
using DataExchange.Settlement;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults(ServiceSchemas.Allocation,
    store => { SellerSeriesStore.Configure(store); SettlementProjections.Allocation(store); },
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddBatchConsumer<TaskPricedConsumer, TaskPriced>(ServiceSchemas.Allocation);
    });
builder.Services.AddSingleton(MarketSettings.From(builder.Configuration));
builder.Services.AddSingleton<SellerSeriesStore>();

var app = builder.Build();
app.MapMarketDefaults();
app.MapBuyerEndpoints();
app.Run();
