using System.Text.Json;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>Adds the participant key a request needs, unless the request already carries one.</summary>
public sealed class ParticipantKeyHandler(ParticipantKeys keys) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        if (!request.Headers.Contains(ParticipantKeys.Header) && await KeyFor(request, ct) is { } key)
            request.Headers.Add(ParticipantKeys.Header, key);
        return await base.SendAsync(request, ct);
    }

    private async Task<string?> KeyFor(HttpRequestMessage request, CancellationToken ct)
    {
        var segments = request.RequestUri!.AbsolutePath.Trim('/').Split('/');
        if (segments is ["sellers", var seller, ..]) return keys.Issue(ParticipantRole.Seller, Uri.UnescapeDataString(seller));
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(ct);
        string? Field(string name)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                    ? v.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
        if (segments is ["sellers"]) return Field("sellerId") is { } s ? keys.Issue(ParticipantRole.Seller, s) : null;
        return keys.Issue(ParticipantRole.Buyer, Field("buyerId") ?? "anonymous-buyer");
    }
}
