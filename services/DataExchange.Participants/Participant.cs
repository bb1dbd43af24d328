namespace DataExchange.Participants;

/// <summary>A participant a valid key belongs to: its role and its id.</summary>
public sealed record Participant(ParticipantRole Role, string Id);
