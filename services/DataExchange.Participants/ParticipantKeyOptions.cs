using Microsoft.AspNetCore.Authentication;

namespace DataExchange.Participants;

/// <summary>The participant-key scheme's options: the header a key travels in.</summary>
public sealed class ParticipantKeyOptions : AuthenticationSchemeOptions
{
    public string Header { get; set; } = ParticipantKeys.Header;
}
