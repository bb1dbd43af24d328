using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// PD_A* sampled by position (StratifiedSampler, Shapley.UntilRelativeStratified): unbiased, accurate to its target
/// against exact Shapley, cheaper than whole permutations for the same target, and replayable from its seed.
/// </summary>
public class StratifiedShapleyTests(ITestOutputHelper output)
{
    private static TaskGains Task(int m, int steps, ulong seed) =>
        MarketTask.Gains(SyntheticMarket.Generate(m, steps, 1, seed).Sellers, SyntheticMarket.Generate(m, steps, 1, seed).Buyers[0].Target,
            seed + 1, MarketParameters.Default);

    [Fact]
    public void Bands_cover_every_position_once()
    {
        foreach (var m in new[] { 1, 2, 3, 6, 7, 20, 200 })
        {
            var e = StratifiedSampler.BandEdges(m);
            Assert.Equal(0, e[0]);
            Assert.Equal(m, e[^1]);
            for (var b = 1; b < e.Length; b++) Assert.True(e[b] > e[b - 1], $"M = {m}: edges {string.Join(",", e)}");
        }
        Assert.Equal([0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 200], StratifiedSampler.BandEdges(200));
    }

    /// <summary>
    /// The stratified estimate is unbiased: at M = 7 (bands [0,1), [1,2), [2,3), [3,7): the last band's cycle has a full
    /// chunk of 4 and a short one of 3 with a filler) over 4,000 seeds, with one cycle per band, every
    /// seller's mean estimate is within 4.5 standard errors (of that mean) of exact Shapley, on a plain and a replica task.
    /// Mutations caught (each made in the library, this test run and watched failing, reverted): the strata weighted
    /// 1 / bands instead of w_b / M: 61 standard errors off on the plain task; the band's positions not shuffled (a short
    /// chunk always takes the band's first positions, never the last): 9.3 standard errors off (with 600 seeds it was
    /// 4.3 and passed, hence 4,000).
    /// </summary>
    [Fact]
    public void Stratified_estimate_is_unbiased()
    {
        const int m = 7;
        const int seeds = 4000;
        foreach (var (task, gains) in new[] { ("plain", Task(m, 160, 3)), ("replica", ShapleyTests.ReplicaTask(m, 160, 8)) })
        {
            var exact = Shapley.Exact(gains, 0.0).Values;
            var sum = new double[m];
            var sumSq = new double[m];
            for (var seed = 0; seed < seeds; seed++)
            {
                var s = new StratifiedSampler(new CoalitionWalker(gains.System(0.0)), new SeededRandom((ulong)seed));
                for (var b = 0; b < s.Bands; b++) s.Cycle(b);
                var e = s.Estimate();
                for (var j = 0; j < m; j++)
                {
                    sum[j] += e[j];
                    sumSq[j] += e[j] * e[j];
                }
            }
            var worst = 0.0;
            for (var j = 0; j < m; j++)
            {
                var mean = sum[j] / seeds;
                var sd = Math.Sqrt(Math.Max(0, sumSq[j] / seeds - mean * mean));
                worst = Math.Max(worst, Math.Abs(mean - exact[j]) / Math.Max(sd / Math.Sqrt(seeds), 1e-15));
            }
            output.WriteLine($"{task}: worst |mean - exact| = {worst:F2} standard errors");
            Assert.True(worst < 4.5, $"{task}: a mean estimate is {worst:F1} standard errors from exact Shapley");
        }
    }

    /// <summary>
    /// To the relative target r = 0.1 at M = 20 (T = 400) against exact Shapley over 40 seeds: every seller's RMS error is
    /// at most 1.5 times the target standard error r / M of the total, and the work is below that of whole permutations
    /// (Shapley.UntilRelative) for the same target. Measured: worst RMS error 0.98 of the target; work 749 whole walks
    /// against 2,936 for whole permutations.
    /// Mutation caught (made in the library, this test run and watched failing, reverted): a stratum's variance taken as
    /// that of its mean (divided by n once more), so the plan and the check both think the target is met too soon: worst
    /// RMS error 1.83 times the target, fails (watched again on the final code). Not caught, because the plan already aims at the target and the check is
    /// only its backstop: the check comparing the variance with the target instead of its square.
    /// </summary>
    [Fact]
    public void Relative_target_holds_against_exact_Shapley_at_M_20_with_less_work()
    {
        const int m = 20;
        const double r = 0.1;
        var gains = Task(m, 400, 21);
        var exact = Shapley.Exact(gains, 0.0).Values;
        var total = Math.Max(Math.Abs(exact.Sum()), Shapley.RelativeMinTotal);
        var target = r * total / m;
        const int seeds = 40;
        var sq = new double[m];
        double workStratified = 0, workPermutations = 0;
        for (var seed = 0; seed < seeds; seed++)
        {
            var s = Shapley.UntilRelativeStratified(gains, 0.0, r, (ulong)seed);
            workStratified += s.Work / seeds;
            for (var j = 0; j < m; j++) sq[j] += (s.Values[j] - exact[j]) * (s.Values[j] - exact[j]) / seeds;
            if (seed < 5) workPermutations += Shapley.UntilRelative(gains, 0.0, r, (ulong)seed).Work / 5;
        }
        var rms = sq.Select(Math.Sqrt).Max();
        output.WriteLine($"M = {m}, r = {r}: worst RMS error {rms:E3} against target {target:E3} (ratio {rms / target:F2}); work in whole walks: stratified {workStratified:F1}, permutations {workPermutations:F1}");
        Assert.True(rms <= 1.5 * target, $"worst RMS error {rms} is more than 1.5 times the target standard error {target}");
        Assert.True(workStratified < workPermutations, $"stratified work {workStratified} not below the permutations' {workPermutations}");
    }

    /// <summary>The same seed gives the same bits, through the market's parameters too; the flag is validated.</summary>
    [Fact]
    public void Stratified_replays_from_its_seed_and_is_validated()
    {
        var gains = Task(12, 200, 5);
        var a = Shapley.UntilRelativeStratified(gains, 0.2, 0.2, 77);
        var b = Shapley.UntilRelativeStratified(gains, 0.2, 0.2, 77);
        Assert.Equal(a.Values.Select(BitConverter.DoubleToInt64Bits), b.Values.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(a.Permutations, b.Permutations);
        var p = gains.Parameters with { ShapleyRelativeError = 0.2, ShapleyStratified = true };
        var viaMarket = MarketTask.SellerValues(new TaskGains(gains.Moments, p), 0.2, 77);
        Assert.Equal(a.Values.Select(BitConverter.DoubleToInt64Bits), viaMarket.Values.Select(BitConverter.DoubleToInt64Bits));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { ShapleyStratified = true }).Validate());
        Assert.Equal(nameof(MarketParameters.ShapleyStratified), e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            (MarketParameters.Default with { ShapleyStratified = true, ShapleyRelativeError = 0.1, ShapleyAntithetic = true }).Validate());
    }
}
