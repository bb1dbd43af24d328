using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DataExchange.Contracts;

/// <summary>
/// A series (<c>double[]</c>: a task's target, its predictions, a revenue curve, MWU weights) as one JSON string, the
/// base64 of the values as little-endian IEEE 754 doubles. As JSON numbers each value is formatted on write and parsed by
/// every reader (and, in the event store, parsed into a numeric by PostgreSQL's jsonb), which was a large share of the
/// market's CPU time; the bytes are also exact (a zero keeps its sign, a NaN stays a NaN). Reading accepts both forms, so
/// a log or a message written with JSON arrays reads the same.
/// Where it applies: every series in the event store (MarketStore), and the series of market-internal messages on the bus
/// (<see cref="BusWireFormat"/>). Public messages and HTTP keep JSON arrays of numbers: those are the participants' contract.
/// In SQL: <c>decode(data->>'Target', 'base64')</c> gives the raw bytes.
/// </summary>
public sealed class CompactSeriesConverter : JsonConverter<double[]>
{
    /// <summary>Reads a base64 string of doubles or an array of numbers (named literals for non-finite values).</summary>
    public override double[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                var bytes = reader.GetBytesFromBase64();
                if (bytes.Length % sizeof(double) != 0)
                    throw new JsonException($"a series has {bytes.Length} bytes, not a whole number of 8-byte doubles");
                var values = new double[bytes.Length / sizeof(double)];
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, double>(bytes).CopyTo(values);
                else
                    for (var i = 0; i < values.Length; i++)
                        values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
                return values;
            case JsonTokenType.StartArray:
                var list = new List<double>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    list.Add(reader.TokenType switch
                    {
                        JsonTokenType.Number => reader.GetDouble(),
                        // NaN and the infinities, as System.Text.Json writes them with named literals allowed.
                        JsonTokenType.String => double.Parse(reader.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
                        _ => throw new JsonException($"a series holds numbers, not {reader.TokenType}"),
                    });
                return list.ToArray();
            default:
                throw new JsonException($"a series is a base64 string or an array of numbers, not {reader.TokenType}");
        }
    }

    /// <summary>Writes the base64 of the little-endian doubles.</summary>
    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options)
    {
        if (BitConverter.IsLittleEndian)
        {
            writer.WriteBase64StringValue(MemoryMarshal.AsBytes(value.AsSpan()));
            return;
        }
        var bytes = new byte[value.Length * sizeof(double)];
        for (var i = 0; i < value.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), value[i]);
        writer.WriteBase64StringValue(bytes);
    }
}
