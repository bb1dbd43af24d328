using MassTransit;

namespace DataExchange.ServiceDefaults;

/// <summary>Bus serialisation shared by services and clients.</summary>
public static class BusJson
{
    /// <summary>
    /// Non-finite numbers travel as "NaN"/"Infinity" instead of failing the sender's serialiser, so the market can
    /// refuse them with a reason naming the field (a buyer's bug must become a TaskRejected, not a lost message).
    /// Bodies are written compact, not indented (MassTransit's default): a series of 400 numbers one per indented
    /// line is half whitespace, which every hop wrote, sent, stored in the broker and read past again.
    /// </summary>
    public static void Configure(IBusFactoryConfigurator cfg) => cfg.ConfigureJsonSerializerOptions(o =>
    {
        o.NumberHandling |= System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        o.WriteIndented = false;
        return o;
    });
}
