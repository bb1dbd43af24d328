using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.Participants;
using DataExchange.Settings;
using Marten;

namespace DataExchange.Pricing;

/// <summary>Markets over HTTP: the operator opens one with its terms; anyone reads a market's state.</summary>
public static class MarketEndpoints
{
    public static void MapMarketEndpoints(this WebApplication app)
    {
        // The operator opens a market with its terms (201), again with the same terms (200), or is refused (400 bad terms, 409 other terms).
        app.MapPost("/markets", async (OpenMarket? command, MarketPricer pricer, CancellationToken ct) =>
        {
            if (command is null) return Problem("body", "is missing: send an OpenMarket as JSON");
            if (MarketLimits.IdProblem(command.MarketId) is { } idProblem) return Problem("marketId", idProblem);
            if (command.Terms is null) return Problem("terms", "is missing");
            try
            {
                var parameters = Terms.Apply(MarketParameters.Default, command.Terms);
                if (command.Grid is { } g) parameters = Terms.Apply(parameters, g);
                parameters.Validate();
                // Recorded as every service records them (names in lower case, unused fields dropped), so the market's terms equal
                // the terms each stage records for its tasks.
                command = command with { Terms = Terms.Record(parameters) };
            }
            catch (ArgumentException e)
            {
                // Parameter names are MarketParameters' own; the body's fields are MechanismTerms' (camelCase in JSON).
                var name = e.ParamName switch
                {
                    "Epsilon" => "shapleyEpsilon", "Delta" => "shapleyDelta", "MarketFeeRate" => "marketFeeRate", null => "terms",
                    var n => JsonNamingPolicy.CamelCase.ConvertName(n),
                };
                return Problem(command.Grid is not null && name is "minPrice" or "maxPrice" or "lipschitz" or "expectedTasks" ? $"grid.{name}" : $"terms.{name}",
                    e.Message.Split(" (Parameter")[0]);
            }
            var (outcome, market) = await pricer.Open(command, ct);
            return outcome switch
            {
                MarketPricer.OpenOutcome.Opened => Results.Created($"/markets/{market.Id}", market),
                MarketPricer.OpenOutcome.AlreadyOpen => Results.Ok(market),
                _ => Results.Problem(title: "Conflict", detail: $"market '{market.Id}' is already open with other terms; a market's terms never change", statusCode: 409),
            };
        }).WithName("OpenMarket").WithSummary("Open a market with the mechanism's terms (operator)").RequireAuthorization(ParticipantPolicies.Operator);
        app.MapGet("/markets/{marketId}", async (string marketId, IQuerySession session, CancellationToken ct) =>
            await session.LoadAsync<MarketPricing>(marketId, ct) is { } m ? Results.Ok(m) : Results.NotFound());
    }

    private static IResult Problem(string field, string reason) => Results.ValidationProblem(
        new Dictionary<string, string[]> { [field] = [reason] }, detail: $"{field}: {reason}", title: "The request was refused");
}
