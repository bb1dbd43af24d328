using System.Globalization;
using System.Text.Json;
using DataExchange.Cli;
using DataExchange.Mechanism;
using Xunit;

namespace DataExchange.Cli.Tests;

public class SimulateCommandTests
{
    private static (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string WriteMarket(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"dx-market-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string Series(int n, Func<int, double> f) =>
        "[" + string.Join(",", Enumerable.Range(0, n).Select(t => f(t).ToString("R", CultureInfo.InvariantCulture))) + "]";

    private static string ValidMarket(int steps = 40) => $$"""
        {"sellers":[{"id":"s1","values":{{Series(steps, t => Math.Sin(t))}}},{"id":"s2","values":{{Series(steps, t => Math.Cos(0.7 * t))}}}],
         "buyers":[{"id":"b1","bid":1.3,"target":{{Series(steps, t => 2 * Math.Sin(t) + 0.1 * Math.Cos(3 * t))}}},
                   {"id":"b2","bid":0.4,"target":{{Series(steps, t => Math.Cos(0.7 * t) - Math.Sin(t))}}}]}
        """;

    [Fact]
    public void Relative_accuracy_with_antithetic_pairs_reports_its_permutations_and_the_cost_split()
    {
        var (code, output, err) = Dx("simulate", "--sellers", "6", "--steps", "80", "--buyers", "4", "--seed", "5", "--json",
            "--shapley-relative", "0.2", "--antithetic");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var perms = lines[..4].Select(l => JsonDocument.Parse(l).RootElement.GetProperty("permutations").GetInt32()).ToArray();
        // pairs: an even count, at least the rule's 32 samples
        Assert.All(perms, k => Assert.True(k >= 64 && k % 2 == 0, $"{k} permutations"));
        var s = JsonDocument.Parse(lines[4]).RootElement.GetProperty("summary");
        Assert.Equal(perms.Average(), s.GetProperty("meanPermutations").GetDouble(), 9);
        var phases = s.GetProperty("phaseMs");
        foreach (var phase in new[] { "gram", "allocation", "shapley", "other" }) Assert.True(phases.GetProperty(phase).GetDouble() >= 0);

        var (text, textOut, textErr) = Dx("simulate", "--sellers", "5", "--steps", "60", "--buyers", "2", "--no-progress");
        Assert.True(text == 0, textErr);
        Assert.Contains("Gram build", textOut);
        Assert.Contains("Shapley", textOut);

        var (bad, _, badErr) = Dx("simulate", "--shapley-relative", "0.05", "--shapley-eps", "0.1", "--shapley-delta", "0.1");
        Assert.Equal(2, bad);
        Assert.Contains("--shapley-relative", badErr);
        var (range, _, rangeErr) = Dx("simulate", "--shapley-relative", "2");
        Assert.Equal(2, range);
        Assert.Contains("ShapleyRelativeError", rangeErr);
    }

    [Fact]
    public void Json_output_has_one_line_per_task_and_a_summary_that_balances()
    {
        var (code, output, err) = Dx("simulate", "--sellers", "6", "--steps", "80", "--buyers", "12", "--perms", "30", "--seed", "5", "--json");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(13, lines.Length);
        decimal charged = 0, paid = 0, retained = 0;
        foreach (var line in lines[..12])
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            var charge = r.GetProperty("revenue").GetDecimal();
            var payouts = r.GetProperty("shares").EnumerateArray().Sum(s => s.GetProperty("payout").GetDecimal());
            var kept = r.GetProperty("retained").GetDecimal();
            Assert.Equal(charge, payouts + kept);
            Assert.Equal(6, r.GetProperty("shares").GetArrayLength());
            Assert.InRange(r.GetProperty("gain").GetDouble(), 0.0, 1.0);
            Assert.InRange(r.GetProperty("price").GetDouble(), 0.0, 2.0);
            charged += charge; paid += payouts; retained += kept;
        }
        using var summary = JsonDocument.Parse(lines[12]);
        var s = summary.RootElement.GetProperty("summary");
        Assert.Equal(charged, s.GetProperty("totalRevenue").GetDecimal());
        Assert.Equal(paid, s.GetProperty("paidToSellers").GetDecimal());
        Assert.Equal(retained, s.GetProperty("retainedByMarket").GetDecimal());
        Assert.True(s.GetProperty("meanMechanismMs").GetDouble() > 0);
        Assert.Equal(12, s.GetProperty("buyers").GetInt32());
    }

    [Fact]
    public void Same_seed_gives_the_same_output_and_another_seed_does_not()
    {
        static string Tasks(string seed) => string.Join('\n', Dx("simulate", "--sellers", "5", "--steps", "60", "--buyers", "8", "--perms", "20", "--seed", seed, "--json")
            .Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..8]);
        Assert.Equal(Tasks("9"), Tasks("9"));
        Assert.NotEqual(Tasks("9"), Tasks("10"));
    }

    [Fact]
    public void Table_output_prints_the_seed_reports_summary()
    {
        var (code, output, _) = Dx("simulate", "--sellers", "5", "--steps", "60", "--buyers", "6", "--perms", "20", "--no-progress");
        Assert.Equal(0, code);
        Assert.Contains("Total Buyers       : 6", output);
        Assert.Contains("Total Revenue", output);
        Assert.Contains("Average Revenue", output);
        Assert.Contains("Top 5 Sellers by Revenue:", output);
        Assert.Contains("ms per task", output);
    }

    [Fact]
    public void A_market_file_runs_and_matches_the_in_process_library()
    {
        var path = WriteMarket(ValidMarket());
        var (code, output, err) = Dx("simulate", "--market", path, "--json", "--perms", "25", "--seed", "3");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);

        var scenario = MarketFile.Load(path);
        var market = new InProcessMarket(scenario.Sellers, new MarketParameters { ShapleyPermutations = 25, ExpectedTasks = 2 }, 3);
        for (var n = 0; n < 2; n++)
        {
            var o = market.Run(scenario.Buyers[n].Id, scenario.Buyers[n].Target, scenario.Buyers[n].Valuation);
            using var doc = JsonDocument.Parse(lines[n]);
            Assert.Equal(o.Allocation.Charge, doc.RootElement.GetProperty("revenue").GetDecimal());
            Assert.Equal(o.Allocation.Price, doc.RootElement.GetProperty("price").GetDouble());
            Assert.Equal(scenario.Buyers[n].Valuation, doc.RootElement.GetProperty("bid").GetDouble());
        }
    }

    [Theory]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"id":"b1","bid":1,"target":[1,2,3,4]}]}""", "$.buyers[0].target", "has 4 values")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"id":"b1","bid":0,"target":[1,2,3,4,5]}]}""", "$.buyers[0].bid", "above 0")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"id":"b1","bid":-2,"target":[1,2,3,4,5]}]}""", "$.buyers[0].bid", "above 0")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,"x",4,5]}],"buyers":[]}""", "$.sellers[0].values[2]", "finite number")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]},{"id":"s1","values":[1,2,3,4,5]}],"buyers":[]}""", "$.sellers[1].id", "duplicate")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]},{"id":"s2","values":[1,2,3]}],"buyers":[]}""", "$.sellers[1].values", "has 3 values")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"id":"b1","bid":1,"target":[1,2,3,4,5],"colour":"red"}]}""", "$.buyers[0].colour", "not a known field")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}]}""", "$.buyers", "missing")]
    [InlineData("""{"sellers":[],"buyers":[]}""", "$.sellers", "at least one seller")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"bid":1,"target":[1,2,3,4,5]}]}""", "$.buyers[0].id", "missing")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[{"id":"b1","bid":"high","target":[1,2,3,4,5]}]}""", "$.buyers[0].bid", "must be a number")]
    [InlineData("""{"sellers":[{"id":"s1","values":[1,2,3,4,5]}],"buyers":[""", "$", "not valid JSON")]
    public void A_malformed_market_file_is_refused_with_the_field_and_the_reason(string json, string field, string reason)
    {
        var path = WriteMarket(json);
        var (code, output, err) = Dx("simulate", "--market", path, "--json");
        Assert.Equal(3, code);
        Assert.Equal("", output);
        Assert.Contains($"{field}: ", err);
        Assert.Contains(reason, err);
    }

    [Theory]
    [InlineData(new[] { "simulate", "--sellers", "zero" }, "--sellers: 'zero' is not a whole number")]
    [InlineData(new[] { "simulate", "--perms", "0" }, "--perms: 0 is out of range")]
    [InlineData(new[] { "simulate", "--threads", "0" }, "--threads: 0 is out of range")]
    [InlineData(new[] { "simulate", "--colour", "red" }, "--colour: unknown option")]
    [InlineData(new[] { "simulate", "--shapley-eps", "0.1" }, "--shapley-eps and --shapley-delta go together")]
    [InlineData(new[] { "simulate", "--sellers", "30", "--exact-shapley" }, "--exact-shapley: 30 sellers")]
    [InlineData(new[] { "frobnicate" }, "'frobnicate': unknown command")]
    public void Bad_options_are_refused_by_name(string[] args, string message)
    {
        var (code, _, err) = Dx(args);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void Threads_change_no_number_of_a_large_market()
    {
        // Above the mechanism's threshold the task's parts run on --threads threads; every line but the summary's timings
        // is the same text on 1, 2 and 3.
        static string[] Lines(string threads)
        {
            var (code, output, err) = Dx("simulate", "--sellers", $"{MarketParameters.ParallelMinSellers + 1}", "--steps", "41", "--buyers", "2",
                "--perms", "24", "--antithetic", "--json", "--threads", threads);
            Assert.True(code == 0, err);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var summary = JsonDocument.Parse(lines[^1]).RootElement.GetProperty("summary");
            return [.. lines[..^1], summary.GetProperty("totalRevenue").GetRawText(), summary.GetProperty("finalPriceWeights").GetRawText()];
        }
        var one = Lines("1");
        Assert.Equal(4, one.Length);   // two task lines, the revenue, the price weights
        Assert.Equal(one, Lines("2"));
        Assert.Equal(one, Lines("3"));
    }

    [Fact]
    public void Exact_shapley_and_target_accuracy_run()
    {
        var exact = Dx("simulate", "--sellers", "6", "--steps", "60", "--buyers", "3", "--exact-shapley", "--json");
        Assert.Equal(0, exact.Code);
        Assert.Contains("\"permutations\":0", exact.Out);
        var target = Dx("simulate", "--sellers", "4", "--steps", "60", "--buyers", "3", "--shapley-eps", "0.2", "--shapley-delta", "0.2", "--json");
        Assert.Equal(0, target.Code);
        using var doc = JsonDocument.Parse(target.Out.Split('\n')[0]);
        var k = doc.RootElement.GetProperty("permutations").GetInt32();
        Assert.InRange(k, 2, Shapley.UntilAccurateCap(4, new ShapleyAccuracy(0.2, 0.2)));
    }
}
