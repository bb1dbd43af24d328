using System.Globalization;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary><c>dx simulate --payout-rule</c>, <c>dx payout-rules</c> (the README's table) and the rule in recorded terms.</summary>
public class PayoutRuleCommandTests
{
    private static (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static readonly string[] Small = ["--sellers", "6", "--steps", "80", "--buyers", "6", "--perms", "20", "--seed", "5"];

    private static string[] SimulateJson(params string[] extra) => ["simulate", .. Small, "--json", .. extra];

    [Fact]
    public void Each_payout_rule_runs_balances_and_matches_the_library()
    {
        var scenario = SyntheticMarket.Generate(6, 80, 6, 5);
        foreach (var rule in PayoutRules.All)
        {
            var (code, output, err) = Dx(SimulateJson("--payout-rule", PayoutRules.Name(rule)));
            Assert.True(code == 0, err);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(7, lines.Length);
            using var summary = JsonDocument.Parse(lines[6]);
            var s = summary.RootElement.GetProperty("summary");
            Assert.Equal(PayoutRules.Name(rule), s.GetProperty("payoutRule").GetString());
            Assert.Equal(s.GetProperty("totalRevenue").GetDecimal(), s.GetProperty("paidToSellers").GetDecimal() + s.GetProperty("retainedByMarket").GetDecimal());

            var market = new InProcessMarket(scenario.Sellers, new MarketParameters { ShapleyPermutations = 20, ExpectedTasks = 6, PayoutRule = rule }, 5);
            for (var n = 0; n < 6; n++)
            {
                var o = market.Run(scenario.Buyers[n].Id, scenario.Buyers[n].Target, scenario.Buyers[n].Valuation);
                using var doc = JsonDocument.Parse(lines[n]);
                var payouts = doc.RootElement.GetProperty("shares").EnumerateArray().Select(x => x.GetProperty("payout").GetDecimal()).ToArray();
                Assert.Equal(o.Settlement.Split.Payouts.Select(x => x.Amount), payouts);
                Assert.Equal(o.Settlement.Split.Retained, doc.RootElement.GetProperty("retained").GetDecimal());
            }
        }
    }

    [Fact]
    public void Renormalise_is_another_spelling_of_the_renormalised_rule_and_the_text_names_the_rule()
    {
        var flag = Dx(SimulateJson("--renormalise")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..6];
        var rule = Dx(SimulateJson("--payout-rule", "renormalised")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..6];
        Assert.Equal(rule, flag);
        Assert.Equal(rule, Dx(SimulateJson("--payout-rule", "renormalised", "--renormalise")).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..6]);

        var (code, text, _) = Dx(["simulate", .. Small, "--no-progress", "--payout-rule", "thresholded", "--similarity-threshold", "0.8"]);
        Assert.Equal(0, code);
        Assert.Contains("Payout rule        : thresholded (tau 0.8, lambda 0.6931)", text);
        Assert.Contains("% of the charge)", text);
        Assert.Contains("Payout rule        : paper (lambda 0.6931)", Dx(["simulate", .. Small, "--no-progress"]).Out);
    }

    [Theory]
    [InlineData(new[] { "simulate", "--payout-rule", "robust" }, "--payout-rule: 'robust' is not a payout rule (one of paper, renormalised, thresholded, interventional, interventional-mse)")]
    [InlineData(new[] { "simulate", "--payout-rule", "paper", "--renormalise" }, "--renormalise means --payout-rule renormalised, not paper")]
    [InlineData(new[] { "simulate", "--similarity-threshold", "1" }, "SimilarityThreshold: must lie in [0, 1)")]
    [InlineData(new[] { "payout-rules", "--rules", "paper,robust" }, "--rules: 'robust' is not a payout rule")]
    [InlineData(new[] { "payout-rules", "--copy-sellers", "21" }, "--copy-sellers: 21 is out of range [2, 20]")]
    [InlineData(new[] { "payout-rules", "--copy-noise", "0,-1" }, "--copy-noise: '-1' is not a number >= 0")]
    [InlineData(new[] { "payout-rules", "--sellers", "30" }, "--exact-tasks: exact Shapley takes at most 24 sellers, not 30")]
    [InlineData(new[] { "payout-rules", "--colour", "red" }, "--colour: unknown option")]
    public void Bad_rule_options_are_refused_by_name(string[] args, string message)
    {
        var (code, _, err) = Dx(args);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void Payout_rules_prints_the_table_deterministically_and_its_paid_column_is_what_simulate_pays()
    {
        string[] args = ["payout-rules", "--sellers", "5", "--steps", "60", "--buyers", "5", "--perms", "20", "--seed", "3",
            "--copy-sellers", "4", "--copy-tasks", "3", "--exact-tasks", "1", "--no-progress"];
        var (code, output, err) = Dx(args);
        Assert.True(code == 0, err);
        Assert.Contains("| rule | paid to sellers (seed) | ms per task (K = 20) | exact settlement, M = 5 (ms, 1 tasks) | exact copies |", output);
        Assert.Contains("| rule | copies' noise (of the series' s.d.) | 1 copy | 2 copies | 4 copies |", output);
        foreach (var rule in PayoutRules.Names)
        {
            Assert.Contains($"\n| {rule} | ", output);
            foreach (var noise in new[] { "exact", "0.05", "0.1", "0.3", "0.5" })
                Assert.Contains($"| {rule} | {noise} | ", output);
        }
        // the copy experiments are seeded: a second run prints the same table below the timings
        static string CopyTable(string o) => o[o.IndexOf("The copier's payout", StringComparison.Ordinal)..];
        Assert.Equal(CopyTable(output), CopyTable(Dx(args).Out));

        // each rule's paid column is dx simulate's paid and charged for the same market
        foreach (var rule in PayoutRules.Names)
        {
            var sim = Dx("simulate", "--sellers", "5", "--steps", "60", "--buyers", "5", "--perms", "20", "--seed", "3", "--json", "--payout-rule", rule).Out
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            using var doc = JsonDocument.Parse(sim);
            var s = doc.RootElement.GetProperty("summary");
            var expected = string.Format(CultureInfo.InvariantCulture, "({0:0.0000} of {1:0.0000})", s.GetProperty("paidToSellers").GetDecimal(), s.GetProperty("totalRevenue").GetDecimal());
            var row = output.Split('\n').First(l => l.StartsWith($"| {rule} | ", StringComparison.Ordinal));
            Assert.Contains(expected, row);
        }
    }

    [Fact]
    public void The_rule_travels_in_the_recorded_terms_and_old_terms_read_as_before()
    {
        foreach (var rule in PayoutRules.All)
        {
            var p = MarketParameters.Default with { PayoutRule = rule };
            var terms = Terms.Record(p);
            // the paper's and the renormalised rule travel in the flag alone, as before the rule existed
            Assert.Equal(rule is PayoutRule.Paper or PayoutRule.Renormalised ? null : PayoutRules.Name(rule), terms.PayoutRule);
            Assert.Equal(rule == PayoutRule.Renormalised, terms.RenormaliseRobustShares);
            Assert.Equal(rule, Terms.Apply(MarketParameters.Default, terms).PayoutRule);
        }
        // events recorded before the rule existed: only the flag, and they equal today's record of the same terms
        var old = Terms.Record(MarketParameters.Default) with { PayoutRule = null };
        Assert.Equal(old, Terms.Record(MarketParameters.Default));
        Assert.Equal(PayoutRule.Paper, Terms.Apply(MarketParameters.Default, old).PayoutRule);
        Assert.Equal(PayoutRule.Renormalised, Terms.Apply(MarketParameters.Default, old with { RenormaliseRobustShares = true }).PayoutRule);
        // a name no rule has is refused naming the parameter (POST /markets reports it as terms.payoutRule)
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => Terms.Apply(MarketParameters.Default, old with { PayoutRule = "robust" }));
        Assert.Equal("PayoutRule", bad.ParamName);
        // a JSON body without the field deserialises with it null
        var json = JsonSerializer.Serialize(old);
        var back = JsonSerializer.Deserialize<MechanismTerms>(json.Replace(",\"PayoutRule\":null", "", StringComparison.Ordinal))!;
        Assert.Null(back.PayoutRule);
    }
}
