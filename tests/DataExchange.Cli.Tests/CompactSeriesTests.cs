using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults.Storage;
using MassTransit.Serialization;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>
/// The compact encoding of series (base64 doubles) in the event store and in market-internal bus messages: exact, readable
/// in both forms, clear when broken; public bus messages keep arrays of numbers.
/// </summary>
public sealed class CompactSeriesTests
{
    private static readonly JsonSerializerOptions Stored = Options();

    /// <summary>MassTransit's own options for message bodies, with the market's bus format applied, as the services configure it.</summary>
    private static readonly JsonSerializerOptions Bus = BusWireFormat.Apply(new JsonSerializerOptions(SystemTextJsonMessageSerializer.Options));

    private static JsonSerializerOptions Options()
    {
        var o = new JsonSerializerOptions();
        MarketStore.ConfigureJson(o);
        return o;
    }

    [Fact]
    public void A_series_round_trips_bit_for_bit_including_signed_zero_and_non_finite_values()
    {
        double[] values = [0.1, -0.0, 0.0, double.Epsilon, -double.MaxValue, double.NaN, double.PositiveInfinity, 1.0 / 3.0, 123456.789e-300];
        var json = JsonSerializer.Serialize(values, Stored);
        Assert.StartsWith("\"", json); // one base64 string, not an array of numbers
        Assert.Equal(values.Length * 8, Convert.FromBase64String(JsonSerializer.Deserialize<string>(json)!).Length);
        var back = JsonSerializer.Deserialize<double[]>(json, Stored)!;
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), back.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void An_event_with_series_round_trips_and_its_other_fields_are_untouched()
    {
        var e = new PredictionDelivered(Guid.NewGuid(), "buyer-1", 0.25, 10, [1.5, -2.25, 3e-9]);
        var json = JsonSerializer.Serialize(e, Stored);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("Predictions").ValueKind);
            Assert.Equal(0.25, doc.RootElement.GetProperty("Gain").GetDouble());
        }
        var back = JsonSerializer.Deserialize<PredictionDelivered>(json, Stored)!;
        Assert.Equal(e.Predictions, back.Predictions);
        Assert.Equal((e.TaskId, e.BuyerId, e.Gain, e.PredictionFromStep), (back.TaskId, back.BuyerId, back.Gain, back.PredictionFromStep));
    }

    [Fact]
    public void A_log_written_with_json_arrays_reads_the_same()
    {
        var back = JsonSerializer.Deserialize<double[]>("[1, -2.5, 3e-9, \"NaN\", \"-Infinity\"]", Stored)!;
        Assert.Equal([1, -2.5, 3e-9], back[..3]);
        Assert.True(double.IsNaN(back[3]));
        Assert.Equal(double.NegativeInfinity, back[4]);
        Assert.Null(JsonSerializer.Deserialize<double[]>("null", Stored));
    }

    [Theory]
    [InlineData("\"AAAA\"", "not a whole number of 8-byte doubles")]
    [InlineData("[1, true]", "holds numbers, not True")]
    [InlineData("{}", "base64 string or an array of numbers, not StartObject")]
    public void A_broken_series_says_what_is_wrong(string json, string message)
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<double[]>(json, Stored));
        Assert.Contains(message, e.Message);
    }

    private static readonly double[] Target = [0.1, -0.0, 1.0 / 3.0, double.NaN, -1e-300, 42];

    // Watched failing (2026-12-02): without BusWireFormat's type modifier the internal messages' series were arrays of numbers.
    [Fact]
    public void Market_internal_messages_carry_their_series_as_base64_and_round_trip_bit_for_bit()
    {
        var terms = (MechanismTerms?)null;
        object[] messages =
        [
            new TaskSubmitted(Guid.NewGuid(), "m", "buyer-1", 1.5, Target, 3, ["seller-01"], DateTimeOffset.UnixEpoch),
            new TaskPriced(Guid.NewGuid(), "m", "buyer-1", 1.5, Target, 3, ["seller-01"], 7, DateTimeOffset.UnixEpoch, 0.5, 2,
                new PriceGridTerms(0, 2, 1, 120), 4, terms),
            new PaymentCharged(Guid.NewGuid(), "m", "buyer-1", 0.25m, 0.5, 1.5, 0.3, [0.5, 0.25], Target, 3, ["seller-01"], 7,
                DateTimeOffset.UnixEpoch, terms),
        ];
        foreach (var message in messages)
        {
            var json = JsonSerializer.Serialize(message, message.GetType(), Bus);
            using (var doc = JsonDocument.Parse(json))
                Assert.Equal(JsonValueKind.String, Property(doc.RootElement, "target").ValueKind);
            var back = JsonSerializer.Deserialize(json, message.GetType(), Bus)!;
            var target = (double[])message.GetType().GetProperty("Target")!.GetValue(back)!;
            Assert.Equal(Target.Select(BitConverter.DoubleToInt64Bits), target.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    // Watched failing (2026-12-02): a modifier applied to every message type turned these into base64 strings.
    [Fact]
    public void Public_messages_keep_their_series_as_arrays_of_numbers()
    {
        object[] messages =
        [
            new PredictionDelivered(Guid.NewGuid(), "buyer-1", 0.25, 10, [1.5, -2.25]),
            new MarketPriceChanged("m", [0.5, 0.5], 3, 1.0),
            new SubmitPredictionTask(Guid.NewGuid(), "buyer-1", 1.5, [1.0, 2.0]),
        ];
        foreach (var message in messages)
        {
            Assert.False(BusWireFormat.IsMarketInternal(message.GetType()));
            var json = JsonSerializer.Serialize(message, message.GetType(), Bus);
            Assert.DoesNotContain(json, "\"AAAA"); // no base64 of doubles anywhere
            using var doc = JsonDocument.Parse(json);
            var arrays = doc.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array && p.Value.GetArrayLength() > 0
                && p.Value[0].ValueKind == JsonValueKind.Number).ToList();
            Assert.NotEmpty(arrays);
        }
    }

    [Fact]
    public void An_internal_message_sent_with_arrays_of_numbers_reads_the_same()
    {
        var sent = new TaskSubmitted(Guid.NewGuid(), "m", "buyer-1", 1.5, [1.0, -2.5, 3e-9], 3, ["seller-01"], DateTimeOffset.UnixEpoch);
        // Written as a sender without the compact format would (camelCase, as MassTransit names properties); not from
        // MassTransit's static options, which any bus configured in this process (MarketBus) has already given the format.
        var asNumbers = JsonSerializer.Serialize(sent, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        using (var doc = JsonDocument.Parse(asNumbers))
            Assert.Equal(JsonValueKind.Array, Property(doc.RootElement, "target").ValueKind);
        var back = JsonSerializer.Deserialize<TaskSubmitted>(asNumbers, Bus)!;
        Assert.Equal(sent.Target, back.Target);
    }

    private static JsonElement Property(JsonElement e, string name) =>
        e.EnumerateObject().First(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
}
