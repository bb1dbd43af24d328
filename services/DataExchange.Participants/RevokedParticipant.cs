namespace DataExchange.Participants;

/// <summary>A participant the operator revoked (its id is "role:id"), kept in every service's own schema.</summary>
public sealed class RevokedParticipant
{
    public string Id { get; set; } = "";
    public DateTimeOffset RevokedAt { get; set; }
}
