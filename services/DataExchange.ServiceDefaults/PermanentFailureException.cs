namespace DataExchange.ServiceDefaults;

/// <summary>A message that no retry can fix (it names the reason); it goes straight to the endpoint's error queue.</summary>
public sealed class PermanentFailureException(string message) : Exception(message);
