using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MassTransit;

namespace DataExchange.Contracts;

/// <summary>The bus's JSON, the same for the services and for participants' programs (MassTransit's System.Text.Json options).</summary>
public static class BusWireFormat
{
    private static readonly CompactSeriesConverter Series = new();

    /// <summary>
    /// Non-finite numbers travel as "NaN"/"Infinity" instead of failing the sender's serialiser, so the market can
    /// refuse them with a reason naming the field (a buyer's bug must become a TaskRejected, not a lost message).
    /// Bodies are written compact, not indented (MassTransit's default): a series of 400 numbers one per indented
    /// line is half whitespace, which every hop wrote, sent, stored in the broker and read past again.
    /// The series of market-internal messages (<see cref="IsMarketInternal"/>: a task's target, its revenue curve) travel
    /// as base64 doubles (<see cref="CompactSeriesConverter"/>): formatting and parsing them as numbers at every hop was
    /// the largest part of the services' JSON time. Public messages keep arrays of numbers, and a series is read in
    /// either form, so a participant's program that sends numbers is understood.
    /// Use: <c>cfg.ConfigureJsonSerializerOptions(BusWireFormat.Apply)</c>.
    /// </summary>
    public static JsonSerializerOptions Apply(JsonSerializerOptions options)
    {
        options.NumberHandling |= JsonNumberHandling.AllowNamedFloatingPointLiterals;
        options.WriteIndented = false;
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(CompactInternalSeries);
        return options;
    }

    /// <summary>Whether a message travels only between the market's services (its exchange is market-internal).</summary>
    public static bool IsMarketInternal(Type messageType) =>
        messageType.GetCustomAttribute<EntityNameAttribute>()?.EntityName.StartsWith(MarketLimits.InternalExchangePrefix, StringComparison.Ordinal) == true;

    private static void CompactInternalSeries(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object || !IsMarketInternal(type.Type)) return;
        foreach (var property in type.Properties)
            if (property.PropertyType == typeof(double[]))
                property.CustomConverter = Series;
    }
}
