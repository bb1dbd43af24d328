using System.Globalization;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary><c>dx simulate --allocation/--task/--similarity</c> (issue 17) and the settings in recorded terms.</summary>
public class SettingsCommandTests
{
    private static (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static readonly string[] Small = ["simulate", "--sellers", "6", "--steps", "80", "--buyers", "6", "--perms", "20", "--seed", "5", "--json"];

    [Fact]
    public void Simulate_runs_a_classification_market_with_sampling_and_hellinger_deterministically()
    {
        string[] args = [.. Small, "--task", "classification", "--allocation", "sampling", "--similarity", "hellinger", "--classes", "2",
            "--payout-rule", "thresholded"];
        var (code, output, err) = Dx(args);
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Length);
        using var summary = JsonDocument.Parse(lines[^1]);
        var s = summary.RootElement.GetProperty("summary");
        Assert.Equal(s.GetProperty("totalRevenue").GetDecimal(), s.GetProperty("paidToSellers").GetDecimal() + s.GetProperty("retainedByMarket").GetDecimal());
        // The same market again: every task line the same (timings aside), and not the regression market's.
        static string Tasks(string o) => string.Join('\n', o.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..^1]);
        Assert.Equal(Tasks(output), Tasks(Dx(args).Out));
        Assert.NotEqual(Tasks(output), Tasks(Dx(Small).Out));
    }

    [Fact]
    public void Bad_settings_are_refused_naming_the_option()
    {
        var (code, _, err) = Dx([.. Small, "--allocation", "masking"]);
        Assert.NotEqual(0, code);
        Assert.Contains("--allocation: 'masking' is not one of noise, sampling", err);
        (code, _, err) = Dx([.. Small, "--task", "classification", "--payout-rule", "interventional"]);
        Assert.NotEqual(0, code);
        Assert.Contains("PayoutRule", err);
        Assert.Contains("classification market", err);

        var file = Path.Combine(Path.GetTempPath(), $"dx-labels-{Guid.NewGuid():N}.json");
        var values = string.Join(",", Enumerable.Range(0, 20).Select(t => (t * 0.37 % 5).ToString(CultureInfo.InvariantCulture)));
        var labels = string.Join(",", Enumerable.Range(0, 20).Select(t => t == 1 ? "0.5" : (t % 2).ToString(CultureInfo.InvariantCulture)));
        File.WriteAllText(file, $"{{\"sellers\":[{{\"id\":\"s1\",\"values\":[{values}]}}],\"buyers\":[{{\"id\":\"b1\",\"bid\":1.3,\"target\":[{labels}]}}]}}");
        try
        {
            (code, _, err) = Dx("simulate", "--market", file, "--task", "classification");
            Assert.Equal(3, code);
            Assert.Contains("$.buyers[0].target[1]: is 0.5, not a class label", err);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void The_settings_travel_in_the_terms_and_older_terms_read_as_the_defaults()
    {
        var p = MarketParameters.Default with
        {
            Allocation = AllocationKind.Sampling, TaskKind = TaskKind.Classification, Similarity = SimilarityKind.Hellinger,
        };
        var terms = Terms.Record(p);
        Assert.Equal(("sampling", "classification", "hellinger"), (terms.Allocation, terms.TaskKind, terms.Similarity));
        Assert.Equal(p, Terms.Apply(MarketParameters.Default, terms));
        // The defaults record as null, so terms recorded before the settings existed equal the same terms recorded now.
        var defaults = Terms.Record(MarketParameters.Default);
        Assert.Null(defaults.Allocation);
        Assert.Null(defaults.TaskKind);
        Assert.Null(defaults.Similarity);
        var json = JsonSerializer.Serialize(defaults);
        foreach (var field in new[] { "Allocation", "TaskKind", "Similarity" })
            json = json.Replace($",\"{field}\":null", "", StringComparison.Ordinal);
        Assert.DoesNotContain("Similarity\"", json.Replace("SimilarityThreshold", "", StringComparison.Ordinal));
        Assert.Equal(defaults, JsonSerializer.Deserialize<MechanismTerms>(json));
        Assert.Equal(MarketParameters.Default, Terms.Apply(MarketParameters.Default, JsonSerializer.Deserialize<MechanismTerms>(json)!));
        // A task of labels names its kind.
        Assert.Equal("classification", TaskKinds.Classification);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Terms.Apply(MarketParameters.Default, terms with { Allocation = "masking" }));
        Assert.Equal("Allocation", e.ParamName);
    }
}
