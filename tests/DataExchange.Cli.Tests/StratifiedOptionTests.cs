using System.Globalization;
using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>`dx simulate --shapley-relative R --stratified`: runs, reports its walks, and is refused without R or with --antithetic.</summary>
public class StratifiedOptionTests
{
    private static (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Stratified_relative_target_runs_and_is_refused_without_its_target()
    {
        var (code, output, err) = Dx("simulate", "--sellers", "12", "--steps", "120", "--buyers", "3", "--seed", "5", "--json",
            "--shapley-relative", "0.2", "--stratified");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        foreach (var line in lines[..3])
        {
            var r = JsonDocument.Parse(line).RootElement;
            // the pilot alone is 4 cycles of every band, each a walk per seller in the first band
            Assert.True(r.GetProperty("permutations").GetInt32() >= 4 * 12, line);
            var shares = r.GetProperty("shares").EnumerateArray().Select(s => s.GetProperty("shapley").GetDouble()).ToArray();
            Assert.Equal(12, shares.Length);
            Assert.All(shares, v => Assert.True(double.IsFinite(v)));
        }
        var (again, againOut, _) = Dx("simulate", "--sellers", "12", "--steps", "120", "--buyers", "3", "--seed", "5", "--json",
            "--shapley-relative", "0.2", "--stratified");
        Assert.Equal(0, again);
        // the same seed, the same bytes (but the timing fields of the summary line)
        Assert.Equal(lines[..3], againOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)[..3]);

        var (text, textOut, textErr) = Dx("simulate", "--sellers", "8", "--steps", "80", "--buyers", "2", "--no-progress",
            "--shapley-relative", "0.2", "--stratified");
        Assert.True(text == 0, textErr);
        Assert.Contains("walks, most of them short", textOut);

        var (alone, _, aloneErr) = Dx("simulate", "--stratified");
        Assert.Equal(2, alone);
        Assert.Contains("ShapleyStratified", aloneErr);
        var (both, _, bothErr) = Dx("simulate", "--shapley-relative", "0.1", "--stratified", "--antithetic");
        Assert.Equal(2, both);
        Assert.Contains("ShapleyAntithetic", bothErr);
    }

    /// <summary>The flag travels in a market's recorded terms, and terms recorded before it existed replay without it.</summary>
    [Fact]
    public void Stratified_travels_in_the_terms_and_old_terms_replay_without_it()
    {
        var p = MarketParameters.Default with { ShapleyRelativeError = 0.05, ShapleyStratified = true };
        var terms = Terms.Record(p);
        Assert.True(terms.ShapleyStratified);
        Assert.True(Terms.Apply(MarketParameters.Default, terms).ShapleyStratified);
        var json = JsonSerializer.Serialize(Terms.Record(MarketParameters.Default));
        Assert.Contains("\"ShapleyStratified\":false", json);
        var old = JsonSerializer.Deserialize<MechanismTerms>(json.Replace(",\"ShapleyStratified\":false", "", StringComparison.Ordinal))!;
        Assert.False(Terms.Apply(MarketParameters.Default, old).ShapleyStratified);
        Assert.Equal(Terms.Record(MarketParameters.Default), old);
    }
}
