using DataExchange.Participants;
using DataExchange.Settlement;
using Marten;

namespace DataExchange.Payout;

/// <summary>GET /sellers/{sellerId}/payouts: a seller's own payouts, to that seller alone (policy own-seller).</summary>
public static class SellerPayoutEndpoints
{
    /// <summary>How long a summary waits for the payout projection to apply what was settled before it was asked.</summary>
    public static readonly TimeSpan FreshnessTimeout = TimeSpan.FromSeconds(10);

    public static void MapSellerPayouts(this WebApplication app) =>
        // The summary, or with after/from/limit a page of the seller's payment lines in log order, each with its cursor
        // (SellerCatchUp), so a subscriber that was away catches up on exactly what it missed.
        app.MapGet("/sellers/{sellerId}/payouts", async (string sellerId, HttpContext http, IDocumentStore store, IQuerySession session, CancellationToken ct) =>
        {
            if (CatchUpQuery.Asked(http.Request))
            {
                var (query, problem) = CatchUpQuery.Parse(http.Request, SellerCatchUp.DefaultLimit, SellerCatchUp.MaxLimit);
                return problem ?? Results.Ok(await SellerCatchUp.PageAsync(session, sellerId, query!, ct));
            }
            // The summary answers with everything settled before the request: a seller that heard its TaskSettled and then
            // asks must find that payout here, not a projection a poll behind. (A catch-up page needs no wait: its cursor says
            // where it got to, and the next page continues from there.)
            if (!await ProjectionFreshness.WaitAsync(store, session, [nameof(PayoutLine)], FreshnessTimeout, ct))
                return Results.Problem(title: "Payouts are being projected", statusCode: 503,
                    detail: $"the payout projection has not applied the latest settlements within {FreshnessTimeout.TotalSeconds:0} s; try again");
            return Results.Ok(await SellerPayouts.ReadAsync(session, sellerId, ct));
        }).WithName("GetSellerPayouts").RequireAuthorization(ParticipantPolicies.OwnSeller);
}
