using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataExchange.Contracts;

/// <summary>The bus's JSON, the same for the services and for participants' programs (MassTransit's System.Text.Json options).</summary>
public static class BusWireFormat
{
    /// <summary>
    /// Non-finite numbers travel as "NaN"/"Infinity" instead of failing the sender's serialiser, so the market can
    /// refuse them with a reason naming the field (a buyer's bug must become a TaskRejected, not a lost message).
    /// Bodies are written compact, not indented (MassTransit's default): a series of 400 numbers one per indented
    /// line is half whitespace, which every hop wrote, sent, stored in the broker and read past again.
    /// Use: <c>cfg.ConfigureJsonSerializerOptions(BusWireFormat.Apply)</c>.
    /// </summary>
    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        options.NumberHandling |= JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.WriteIndented = false;
        return options;
    }
}
