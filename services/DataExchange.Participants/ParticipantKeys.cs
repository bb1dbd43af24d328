using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace DataExchange.ServiceDefaults;

/// <summary>Who a participant is: a buyer or a seller and its id; or the market's operator (opens markets).</summary>
public enum ParticipantRole { Buyer, Seller, Operator }

public sealed record Participant(ParticipantRole Role, string Id);

/// <summary>
/// Per-participant API keys: "role:id:mac", the mac an HMAC-SHA256 of "role:id" under the market's secret
/// (DX_KEY_SECRET or Market:KeySecret, from configuration or the environment, never from the repository). Every service
/// checks a key without a shared table; the operator issues them with <c>dx keys issue</c>.
/// </summary>
public sealed class ParticipantKeys
{
    public const string Header = "X-Api-Key";
    private readonly byte[]? _secret;

    public ParticipantKeys(string? secret) => _secret = string.IsNullOrEmpty(secret) ? null : Encoding.UTF8.GetBytes(secret);

    public static ParticipantKeys From(IConfiguration configuration) =>
        new(configuration["DX_KEY_SECRET"] ?? configuration["Market:KeySecret"]);

    public static ParticipantKeys FromEnvironment() => new(Environment.GetEnvironmentVariable("DX_KEY_SECRET"));

    public bool Configured => _secret is not null;

    // Revoked participants ("role:id"): a key stays cryptographically valid, so the services keep a list (RevokedParticipant
    // documents, loaded at start and added to as ParticipantRevoked arrives).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _revoked = new(StringComparer.Ordinal);

    public void Revoke(string role, string id) => _revoked[$"{role}:{id}"] = true;

    public string Issue(ParticipantRole role, string id)
    {
        if (_secret is null) throw new InvalidOperationException("no key secret is configured (DX_KEY_SECRET)");
        var subject = $"{Role(role)}:{id}";
        return $"{subject}:{Mac(subject)}";
    }

    /// <summary>The participant a key belongs to, or null when it is malformed or forged.</summary>
    public Participant? Verify(string? key)
    {
        if (_secret is null || string.IsNullOrEmpty(key)) return null;
        var last = key.LastIndexOf(':');
        var first = key.IndexOf(':');
        if (first <= 0 || last <= first) return null;
        var subject = key[..last];
        var expected = Encoding.ASCII.GetBytes(Mac(subject));
        var given = Encoding.ASCII.GetBytes(key[(last + 1)..]);
        if (!CryptographicOperations.FixedTimeEquals(expected, given)) return null;
        var role = key[..first] switch
        {
            "buyer" => ParticipantRole.Buyer, "seller" => ParticipantRole.Seller, "operator" => ParticipantRole.Operator, _ => (ParticipantRole?)null,
        };
        if (role is null || _revoked.ContainsKey(subject)) return null;
        return new Participant(role.Value, key[(first + 1)..last]);
    }

    /// <summary>
    /// Checks the request's key for this role and id: null when allowed, else the answer to give (401 no valid key,
    /// 403 a valid key of someone else, 503 keys not configured).
    /// </summary>
    public IResult? Deny(HttpContext http, ParticipantRole role, string id)
    {
        if (!Configured) return Results.Problem(title: "Participant keys are not configured", detail: "set DX_KEY_SECRET", statusCode: 503);
        var who = Verify(http.Request.Headers[Header].ToString());
        if (who is null) return Results.Problem(title: "Unauthorized", detail: $"{Header}: missing or not a valid participant key", statusCode: 401);
        if (who.Role != role || !string.Equals(who.Id, id, StringComparison.Ordinal))
            return Results.Problem(title: "Forbidden", detail: $"{Header}: this key is {Role(who.Role)} '{who.Id}', not {Role(role)} '{id}'", statusCode: 403);
        return null;
    }

    /// <summary>The participant behind the request's key, or the answer to give (401 no valid key, 403 a key of the other role).</summary>
    public (Participant? Who, IResult? Denied) Identify(HttpContext http, ParticipantRole role)
    {
        if (!Configured) return (null, Results.Problem(title: "Participant keys are not configured", detail: "set DX_KEY_SECRET", statusCode: 503));
        var who = Verify(http.Request.Headers[Header].ToString());
        if (who is null) return (null, Results.Problem(title: "Unauthorized", detail: $"{Header}: missing or not a valid participant key", statusCode: 401));
        if (who.Role != role)
            return (null, Results.Problem(title: "Forbidden", detail: $"{Header}: this key is {Role(who.Role)} '{who.Id}'; this needs a {Role(role)}'s key", statusCode: 403));
        return (who, null);
    }

    private static string Role(ParticipantRole r) => r switch
    {
        ParticipantRole.Buyer => "buyer", ParticipantRole.Seller => "seller", _ => "operator",
    };

    private string Mac(string subject) =>
        Convert.ToBase64String(HMACSHA256.HashData(_secret!, Encoding.UTF8.GetBytes(subject))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
