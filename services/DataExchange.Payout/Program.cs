using DataExchange.Payout;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;
using MassTransit;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults("payout",
    store => { SellerSeriesStore.Configure(store); DataExchange.Settlement.SettlementProjections.Payout(store); },
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddConsumer<PaymentChargedConsumer>(c => c.Options<BatchOptions>(MarketBatches.Configure));
    });

var app = builder.Build();
app.MapMarketDefaults();
app.Run();
