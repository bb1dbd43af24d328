using Microsoft.AspNetCore.Authorization;

namespace DataExchange.Participants;

/// <summary>
/// The caller acts only under its own id: the id in the route value <see cref="RouteValue"/> (e.g. {sellerId}), or, checked
/// by the endpoint with IAuthorizationService, the id a request body names (the resource, a string).
/// </summary>
public sealed record OwnIdRequirement(string RouteValue) : IAuthorizationRequirement;
