using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.Payout;
using DataExchange.Replicas;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Storage;
using DataExchange.Settings;
using DataExchange.Settlement;

var builder = WebApplication.CreateBuilder(args);
builder.AddMarketServiceDefaults(ServiceSchemas.Payout,
    store => { SellerSeriesStore.Configure(store); SettlementProjections.Payout(store); },
    bus =>
    {
        bus.AddConsumer<SellerSeriesConsumer>();
        bus.AddBatchConsumer<PaymentChargedConsumer, PaymentCharged>(ServiceSchemas.Payout);
    });
builder.Services.AddSingleton(MarketSettings.From(builder.Configuration));
builder.Services.AddSingleton<SellerSeriesStore>();

var app = builder.Build();
app.MapMarketDefaults();
app.MapSellerPayouts();
app.Run();
