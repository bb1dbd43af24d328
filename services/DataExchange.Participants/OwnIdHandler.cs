using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DataExchange.Participants;

/// <summary>Succeeds when the id the request acts for is exactly the caller's own participant id.</summary>
public sealed class OwnIdHandler : AuthorizationHandler<OwnIdRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OwnIdRequirement requirement)
    {
        // Endpoint routing passes the HttpContext as the resource; an endpoint checking a body passes the id itself.
        var actsFor = context.Resource switch
        {
            string id => id,
            HttpContext http => http.GetRouteValue(requirement.RouteValue) as string,
            _ => null,
        };
        if (actsFor is not null && context.User.ParticipantId() is { } own && string.Equals(own, actsFor, StringComparison.Ordinal))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
