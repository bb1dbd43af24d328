using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using DataExchange.Contracts;

namespace DataExchange.Participants;

/// <summary>
/// Per-participant API keys: "role:id:mac", the mac an HMAC-SHA256 of "role:id" under the market's secret
/// (DX_KEY_SECRET or Market:KeySecret, from configuration or the environment, never from the repository). Every service
/// checks a key without a shared table; the operator issues them with <c>dx keys issue</c>.
/// </summary>
public sealed class ParticipantKeys
{
    public const string Header = ParticipantBus.KeyHeader;
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

    /// <summary>A role as keys and claims spell it: "buyer", "seller" or "operator".</summary>
    public static string Role(ParticipantRole r) => r switch
    {
        ParticipantRole.Buyer => "buyer", ParticipantRole.Seller => "seller", _ => "operator",
    };

    private string Mac(string subject) =>
        Convert.ToBase64String(HMACSHA256.HashData(_secret!, Encoding.UTF8.GetBytes(subject))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
