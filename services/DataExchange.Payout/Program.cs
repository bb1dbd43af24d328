using DataExchange.Payout;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults("payout",
    SellerSeriesStore.Configure,
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddConsumer<PaymentChargedConsumer>();
    });

var app = builder.Build();
app.MapMarketDefaults();
app.Run();
