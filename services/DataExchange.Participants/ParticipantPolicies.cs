using Microsoft.AspNetCore.Authorization;

namespace DataExchange.Participants;

/// <summary>
/// The authorization policies of the services' HTTP endpoints: a role (buyer, seller, operator), or a role acting only
/// under its own id (the route's {buyerId} or {sellerId}; or the id a body names, checked with <see cref="IsOwnAsync"/>).
/// </summary>
public static class ParticipantPolicies
{
    public const string Buyer = "buyer", Seller = "seller", Operator = "operator";
    public const string OwnBuyer = "own-buyer", OwnSeller = "own-seller";

    public static void Add(AuthorizationOptions o)
    {
        o.AddPolicy(Buyer, p => p.RequireRole(Buyer));
        o.AddPolicy(Seller, p => p.RequireRole(Seller));
        o.AddPolicy(Operator, p => p.RequireRole(Operator));
        o.AddPolicy(OwnBuyer, p => p.RequireRole(Buyer).AddRequirements(new OwnIdRequirement("buyerId")));
        o.AddPolicy(OwnSeller, p => p.RequireRole(Seller).AddRequirements(new OwnIdRequirement("sellerId")));
    }

    /// <summary>Whether the caller may act as <paramref name="id"/> under an own-id policy (for an id named in a request body).</summary>
    public static async Task<bool> IsOwnAsync(this IAuthorizationService authorization, System.Security.Claims.ClaimsPrincipal user, string? id, string policy) =>
        (await authorization.AuthorizeAsync(user, id ?? "", policy)).Succeeded;
}
