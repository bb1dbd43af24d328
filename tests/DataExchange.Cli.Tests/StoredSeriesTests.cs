using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults.Storage;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>The event store's encoding of series (base64 doubles): exact, readable in both forms, clear when broken.</summary>
public sealed class StoredSeriesTests
{
    private static readonly JsonSerializerOptions Stored = Options();

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
}
