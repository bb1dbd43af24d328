using System.Net;
using System.Net.Http.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Market;

/// <summary>
/// The mechanism's terms a market opens with, from <c>dx market run</c>'s options (the names of <c>dx simulate</c>'s),
/// and opening it on the pricing service (<c>POST /markets</c> with the operator's key).
/// </summary>
public static class MarketTermsOptions
{
    public static readonly string[] Flags = ["--exact-shapley"];

    /// <summary>The terms the options ask for, or null when none is given (the market then opens with the services' configuration).</summary>
    public static OpenMarket? Parse(Arguments a, string marketId)
    {
        var perms = a.String("--perms");
        var eps = a.String("--shapley-eps");
        var delta = a.String("--shapley-delta");
        var exact = a.Flag("--exact-shapley");
        var lambda = a.String("--lambda");
        var ridge = a.String("--ridge");
        var points = a.String("--integral-points");
        var fee = a.String("--fee");
        var expected = a.String("--expected-tasks");
        var rule = a.String("--payout-rule");
        var tau = a.String("--similarity-threshold");
        if ((eps is null) != (delta is null)) throw new UsageException("--shapley-eps and --shapley-delta go together");
        if (perms is null && eps is null && !exact && lambda is null && ridge is null && points is null && fee is null && expected is null && rule is null && tau is null) return null;
        var d = MarketParameters.Default;
        var parameters = d with
        {
            ShapleyPermutations = a.Int("--perms", d.ShapleyPermutations, 1),
            ShapleyTarget = eps is null ? null : new ShapleyAccuracy(a.Double("--shapley-eps", 0), a.Double("--shapley-delta", 0)),
            ExactShapley = exact,
            RobustnessLambda = a.Double("--lambda", d.RobustnessLambda),
            RidgeAlpha = a.Double("--ridge", d.RidgeAlpha),
            IntegralPoints = a.Int("--integral-points", d.IntegralPoints, 2),
            MarketFeeRate = (decimal)a.Double("--fee", 0),
            ExpectedTasks = a.Int("--expected-tasks", d.ExpectedTasks, 1),
            PayoutRule = rule is null ? d.PayoutRule
                : PayoutRules.TryParse(rule, out var r) ? r : throw new UsageException($"--payout-rule: '{rule}' is not one of {string.Join(", ", PayoutRules.Names)}"),
            SimilarityThreshold = a.Double("--similarity-threshold", d.SimilarityThreshold),
        };
        try { parameters.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException($"{e.ParamName}: {e.Message.Split(" (Parameter")[0]}"); }
        return new OpenMarket(marketId, Terms.Record(parameters),
            expected is null ? null : new PriceGridTerms(d.MinPrice, d.MaxPrice, d.Lipschitz, parameters.ExpectedTasks));
    }

    /// <summary>Opens the market (or finds it open with the same terms); a market open with other terms is an error.</summary>
    public static async Task OpenAsync(string pricingUrl, ParticipantKeys keys, OpenMarket market, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(pricingUrl), Timeout = TimeSpan.FromSeconds(60) };
        var request = new HttpRequestMessage(HttpMethod.Post, "/markets") { Content = JsonContent.Create(market) };
        request.Headers.Add(ParticipantKeys.Header, keys.Issue(ParticipantRole.Operator, "dx"));
        var response = await http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        throw new UsageException(response.StatusCode == HttpStatusCode.Conflict
            ? $"--market-id: market '{market.MarketId}' is already open with other terms (choose another id, or omit the terms options)"
            : $"opening market '{market.MarketId}': HTTP {(int)response.StatusCode}: {body}");
    }
}
