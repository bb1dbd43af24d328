using DataExchange.Allocation;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults("allocation",
    SellerSeriesStore.Configure,
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddConsumer<TaskPricedConsumer>();
    });

var app = builder.Build();
app.MapMarketDefaults();
app.Run();
