using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DataExchange.Participants;

/// <summary>
/// Authenticates a request by its participant key (<see cref="ParticipantKeys"/>): a valid, unrevoked key makes the caller
/// a principal with its role (a role claim "buyer", "seller" or "operator") and its id (the name identifier). What the
/// caller may do is decided by the policies (<see cref="ParticipantPolicies"/>), not here. Answers as problem details:
/// 401 without a valid key, 403 for a valid key the policy refuses, 503 when the service has no key secret.
/// </summary>
public sealed class ParticipantKeyAuthenticationHandler(IOptionsMonitor<ParticipantKeyOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, ParticipantKeys keys) : AuthenticationHandler<ParticipantKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "ParticipantKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Configured) return Task.FromResult(AuthenticateResult.Fail("participant keys are not configured (DX_KEY_SECRET)"));
        var key = Request.Headers[Options.Header].ToString();
        if (key.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());
        if (keys.Verify(key) is not { } who) return Task.FromResult(AuthenticateResult.Fail($"{Options.Header}: not a valid participant key"));
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Role, ParticipantKeys.Role(who.Role)), new Claim(ClaimTypes.NameIdentifier, who.Id)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => (keys.Configured
            ? Results.Problem(title: "Unauthorized", detail: $"{Options.Header}: missing or not a valid participant key", statusCode: 401)
            : Results.Problem(title: "Participant keys are not configured", detail: "set DX_KEY_SECRET", statusCode: 503))
        .ExecuteAsync(Context);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => Results.Problem(title: "Forbidden",
            detail: $"{Options.Header}: this key is {Context.User.FindFirstValue(ClaimTypes.Role)} '{Context.User.ParticipantId()}', " +
                    "which may not do this (a participant acts only in its own role and name)",
            statusCode: 403)
        .ExecuteAsync(Context);
}
