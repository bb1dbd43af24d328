using System.Security.Claims;

namespace DataExchange.Participants;

/// <summary>Who an authenticated caller is, as the participant-key handler recorded it.</summary>
public static class ParticipantClaims
{
    /// <summary>The caller's participant id (null when the request carried no valid key).</summary>
    public static string? ParticipantId(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier);
}
