using System.Net;
using System.Net.Http.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;

namespace DataExchange.Cli.Market;

/// <summary>
/// The mechanism's terms a market opens with, from <c>dx market run</c>'s options (the names of <c>dx simulate</c>'s),
/// and opening it on the pricing service (<c>POST /markets</c> with the operator's key).
/// </summary>
public static class MarketTermsOptions
{
    /// <summary>The terms the options ask for, or null when none is given (the market then opens with the services' configuration).</summary>
    public static OpenMarket? Parse(MechanismOptions.Parsed mechanism, string marketId)
    {
        if (!mechanism.AnyGiven) return null;
        var parameters = mechanism.Validated(MarketParameters.Default.ExpectedTasks);
        return new OpenMarket(marketId, Terms.Record(parameters),
            mechanism.ExpectedTasksGiven ? new PriceGridTerms(parameters.MinPrice, parameters.MaxPrice, parameters.Lipschitz, parameters.ExpectedTasks) : null);
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
