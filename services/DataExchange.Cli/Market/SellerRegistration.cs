using DataExchange.Participants;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Market;

/// <summary>The operator registers a scenario's sellers on their behalf, each with the key it issues them from the market's secret.</summary>
public static class SellerRegistration
{
    public static async Task RegisterSellersAsync(this MarketClient client, FeatureSet sellers, ParticipantKeys keys, CancellationToken ct)
    {
        for (var m = 0; m < sellers.Sellers; m++)
            await client.RegisterSellerAsync(sellers.SellerIds[m], sellers.Row(m).ToArray(), keys.Issue(ParticipantRole.Seller, sellers.SellerIds[m]), ct);
    }
}
