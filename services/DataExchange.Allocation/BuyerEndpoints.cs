using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Allocation;

/// <summary>What a buyer reads from allocation: its predictions and its results, its own only.</summary>
public static class BuyerEndpoints
{
    public static void MapBuyerEndpoints(this WebApplication app)
    {
        // The buyer's predictions, to the buyer alone (another buyer's task answers 404, as if it did not exist).
        app.MapGet("/tasks/{taskId:guid}/prediction", async (Guid taskId, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var events = await session.Events.FetchStreamAsync(taskId.ToString(), token: ct);
            return events.Select(e => e.Data).OfType<PredictionDelivered>().FirstOrDefault() is { } p && p.BuyerId == http.User.ParticipantId()
                ? Results.Ok(p)
                : Results.NotFound();
        }).WithName("GetPrediction").RequireAuthorization(ParticipantPolicies.Buyer);

        // A buyer's own results in log order after a cursor (or from a time): what a buyer that was away missed.
        app.MapGet("/buyers/{buyerId}/results", async (string buyerId, HttpContext http, IQuerySession session, CancellationToken ct) =>
        {
            var (query, problem) = CatchUpQuery.Parse(http.Request, BuyerCatchUp.DefaultLimit, BuyerCatchUp.MaxLimit);
            return problem ?? Results.Ok(await BuyerCatchUp.PageAsync(session, buyerId, query!, ct));
        }).WithName("GetBuyerResults").RequireAuthorization(ParticipantPolicies.OwnBuyer);
    }
}
