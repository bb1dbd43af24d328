using DataExchange.Payout;
using DataExchange.ServiceDefaults;
using DataExchange.ServiceDefaults.Replicas;
using Marten;
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
// A seller's own payouts, to that seller alone.
app.MapGet("/sellers/{sellerId}/payouts", async (string sellerId, HttpContext http, Marten.IQuerySession session, ParticipantKeys keys, CancellationToken ct) =>
{
    if (keys.Deny(http, ParticipantRole.Seller, sellerId) is { } denied) return denied;
    var mine = await session.Events.QueryRawEventDataOnly<DataExchange.Contracts.SellerPaid>()
        .Where(p => p.SellerId == sellerId)
        .ToListAsync(ct);
    return Results.Ok(new { sellerId, balance = mine.Sum(p => p.Amount), payouts = mine.Select(p => new { p.TaskId, p.Share, p.Amount }) });
}).WithName("GetSellerPayouts");
app.Run();
