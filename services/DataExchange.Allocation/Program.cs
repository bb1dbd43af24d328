using DataExchange.Allocation;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;
using MassTransit;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults("allocation",
    store => { SellerSeriesStore.Configure(store); DataExchange.Settlement.SettlementProjections.Allocation(store); },
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddConsumer<TaskPricedConsumer>(c => c.Options<BatchOptions>(MarketBatches.Configure));
    });

var app = builder.Build();
app.MapMarketDefaults();
app.Run();
