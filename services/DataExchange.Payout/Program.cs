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
// A seller's own payouts, to that seller alone: the summary, or with after/from/limit a page of its payment lines in log
// order, each with its cursor (SellerCatchUp), so a subscriber that was away catches up on exactly what it missed.
app.MapGet("/sellers/{sellerId}/payouts", async (string sellerId, HttpContext http, Marten.IQuerySession session, ParticipantKeys keys, CancellationToken ct) =>
{
    if (keys.Deny(http, ParticipantRole.Seller, sellerId) is { } denied) return denied;
    if (CatchUpQuery.Asked(http.Request))
    {
        var (query, problem) = CatchUpQuery.Parse(http.Request, SellerCatchUp.DefaultLimit, SellerCatchUp.MaxLimit);
        return problem ?? Results.Ok(await SellerCatchUp.PageAsync(session, sellerId, query!, ct));
    }
    var mine = await session.Events.QueryRawEventDataOnly<DataExchange.Contracts.SellerPaid>()
        .Where(p => p.SellerId == sellerId)
        .ToListAsync(ct);
    return Results.Ok(new { sellerId, balance = mine.Sum(p => p.Amount), payouts = mine.Select(p => new { p.TaskId, p.Share, p.Amount }) });
}).WithName("GetSellerPayouts");
app.Run();
