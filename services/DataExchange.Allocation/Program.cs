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
// The buyer's predictions, to the buyer alone (another buyer's task answers 404, as if it did not exist).
app.MapGet("/tasks/{taskId:guid}/prediction", async (Guid taskId, HttpContext http, Marten.IQuerySession session, ParticipantKeys keys, CancellationToken ct) =>
{
    var (buyer, denied) = keys.Identify(http, ParticipantRole.Buyer);
    if (denied is not null) return denied;
    var events = await session.Events.FetchStreamAsync(taskId.ToString(), token: ct);
    return events.Select(e => e.Data).OfType<DataExchange.Contracts.PredictionDelivered>().FirstOrDefault() is { } p && p.BuyerId == buyer!.Id
        ? Results.Ok(p)
        : Results.NotFound();
}).WithName("GetPrediction");
// A buyer's own results in log order after a cursor (or from a time): what a buyer that was away missed.
app.MapGet("/buyers/{buyerId}/results", async (string buyerId, HttpContext http, Marten.IQuerySession session, ParticipantKeys keys, CancellationToken ct) =>
{
    if (keys.Deny(http, ParticipantRole.Buyer, buyerId) is { } denied) return denied;
    var (query, problem) = CatchUpQuery.Parse(http.Request, BuyerCatchUp.DefaultLimit, BuyerCatchUp.MaxLimit);
    return problem ?? Results.Ok(await BuyerCatchUp.PageAsync(session, buyerId, query!, ct));
}).WithName("GetBuyerResults");
app.Run();
