using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// Thm 5.1 per task: with common random numbers the buyer's utility U(b) = mu G~(b) - RF*(p, b) is maximised at b = mu
/// on every task, not only on average. Myerson (Eq. 3) needs the delivered gain non-decreasing in the bid; AF*'s raw
/// held-out gain often is not (a little noise acts as extra ridge), which is why the market irons it (IronedGain).
/// </summary>
public class TruthfulnessTests(ITestOutputHelper output)
{
    // RF* is Eq. 3 to within QuadratureTolerance per charge; U(mu) - U(b) compares two charges.
    private const double Tolerance = 2 * FormulaTests.QuadratureTolerance;

    private sealed record PricedTask(string Name, TaskGains Gains, double Price, double Mu);

    /// <summary>
    /// 280 tasks: 5 scenario seeds x M in {2, 3, 5, 8, 12, 16, 20} (T from 150 to 400) x 2 buyers x 4 prices (0, the
    /// top of the grid and two drawn from it), each task with its own noise matrix; mu ~ U(0.25, 2).
    /// </summary>
    private static IEnumerable<PricedTask> Tasks(MarketParameters p, PriceGrid grid)
    {
        var classification = p.TaskKind == TaskKind.Classification;
        int[] sellers = [2, 3, 5, 8, 12, 16, 20];
        int[] steps = [150, 220, 300, 400];
        var draw = new SeededRandom(12345);
        for (var seed = 0; seed < 5; seed++)
            foreach (var m in sellers)
            {
                var t = steps[(seed + m) % steps.Length];
                var scenario = SyntheticMarket.Generate(m, t, 2, (ulong)(100 * seed + m), 0.25, 2.0);
                // Classification: the same buyers' series as 2 to 4 classes by quantile.
                if (classification) scenario = SyntheticMarket.WithClassLabels(scenario, 2 + (seed + m) % 3);
                foreach (var (buyer, n) in scenario.Buyers.Select((b, n) => (b, n)))
                {
                    int[] prices = [0, draw.Next(grid.Count), draw.Next(grid.Count), grid.Count - 1];
                    for (var i = 0; i < prices.Length; i++)
                    {
                        var noiseSeed = SeededRandom.Derive((ulong)seed, (ulong)(1000 * m + 10 * n + i));
                        yield return new PricedTask($"seed {seed} M {m} T {t} buyer {n} price #{prices[i]}",
                            MarketTask.Gains(scenario.Sellers, buyer.Target, noiseSeed, p), grid.Prices[prices[i]], buyer.Valuation);
                    }
                }
            }
    }

    /// <summary>
    /// Measured: the raw AF* gain is non-monotone on [0, p] on 102 of the 210 tasks with p &gt; 0 (71 by more than 1e-4, worst
    /// drop 1.3e-2); ironed, max_b U(b) - U(mu) is 0 on every task. Mutations tried (each failed here, then reverted):
    /// (a) RF* = b G~(b) - trapezoid on 15 points over [0, b] (the old quadrature): U(p) beats U(mu) by 2.8e-5 on the first
    /// task with p &gt; 0; (a') the mechanism before ironing (raw gain, Gauss-Legendre on [0, min(b, p)]): G~ falls at once,
    /// and without that check U(0.013) beats U(mu) by 3.6e-4 on the second (56 of the 280 tasks by more than 2e-6, worst
    /// 2.5e-3); (b) first price, RF* = min(b, p) G~(b): by 1.1; (c) ironing dropped (raw gains at the step bids): by 3.6e-4.
    /// </summary>
    [Fact]
    public void Truthful_bid_maximises_utility_on_every_task_for_bids_up_to_100_mu() => Check(MarketParameters.Default, 400, 20);

    /// <summary>
    /// The same 280 tasks under the paper's other settings (issue 17): allocation by sampling (Ex. 4.2), classification
    /// tasks (Remark 2.2), and both. Measured: the raw gain is non-monotone by more than 1e-4 on [0, p] in 204 of the tasks
    /// under sampling (worst drop 0.82: with few observations kept, the fit on them can be far worse than on fewer), 191
    /// under classification (accuracy is a step function of the copy) and 204 under both; ironed, max_b U(b) - U(mu) is 0
    /// on every task. Mutation tried (failed here under all three settings, then
    /// reverted): the delivered copy is AF*'s raw one (TaskGains.AllocatedNoise returning Level(price, bid), no ironing):
    /// on the first task with p &gt; 0 a bid far below mu beats it, by 2.2e-3 (sampling), 1.0e-2 (classification) and
    /// 2.2e-2 (both); the noise test above fails too (G~ falls with the bid).
    /// </summary>
    [Theory]
    [InlineData(AllocationKind.Sampling, TaskKind.Regression)]
    [InlineData(AllocationKind.Noise, TaskKind.Classification)]
    [InlineData(AllocationKind.Sampling, TaskKind.Classification)]
    public void Truthful_bid_maximises_utility_on_every_task_under_the_other_settings(AllocationKind allocation, TaskKind kind) =>
        // 60 probes of the raw gain (sampling computes one mask per probe); at least 20 tasks must be non-monotone.
        Check(MarketParameters.Default with { Allocation = allocation, TaskKind = kind }, 60, 20);

    private void Check(MarketParameters p, int probes, int minRawNonMonotone)
    {
        var grid = PriceGrid.Create(p);
        var tasks = 0;
        var belowPrice = 0;
        var abovePrice = 0;
        var rawNonMonotone = 0;
        var worstRawDrop = 0.0;
        var worstShortfall = double.NegativeInfinity;
        var worstTask = "";
        foreach (var task in Tasks(p, grid))
        {
            tasks++;
            var (gains, price, mu) = (task.Gains, task.Price, task.Mu);
            if (mu < price) belowPrice++;
            if (mu > price) abovePrice++;

            // How far AF*'s raw gain is from monotone on [0, p]: the case the ironing is for.
            var runningMax = double.NegativeInfinity;
            var drop = 0.0;
            for (var i = 0; i <= probes; i++)
            {
                var g = gains.GainAtNoise(gains.Level(price, price * i / probes));
                runningMax = Math.Max(runningMax, g);
                drop = Math.Max(drop, runningMax - g);
            }
            if (drop > 1e-4) rawNonMonotone++;
            worstRawDrop = Math.Max(worstRawDrop, drop);

            // Bids: a grid on (0, 4 mu], every step bid of the allocation and just below it, and far above every price.
            var ironed = gains.Ironed(price);
            var bids = Enumerable.Range(1, 400).Select(i => 4 * mu * i / 400)
                .Concat(ironed.StepBids.Where(z => z > 0).SelectMany(z => new[] { z, Math.BitDecrement(z) }))
                .Concat([10 * mu, 100 * mu, mu]);
            double U(double b) => mu * gains.Gain(price, b) - gains.Revenue(price, b);
            var atMu = U(mu);
            Assert.True(atMu >= -Tolerance, $"{task.Name}: U(mu) = {atMu} < 0");
            var previousGain = double.NegativeInfinity;
            foreach (var b in bids.Order())
            {
                var g = gains.Gain(price, b);
                var rf = gains.Revenue(price, b);
                Assert.True(g >= previousGain, $"{task.Name}: delivered G~ falls from {previousGain} to {g} at b = {b}");
                previousGain = g;
                Assert.True(gains.AllocatedNoise(price, b) >= gains.Level(price, b),
                    $"{task.Name}: b = {b} gets a better copy than AF*'s");
                Assert.True(rf >= 0 && rf <= b * g + Tolerance, $"{task.Name}: RF* = {rf}, b G~(b) = {b * g}");
                var shortfall = U(b) - atMu;
                if (shortfall > worstShortfall)
                {
                    worstShortfall = shortfall;
                    worstTask = $"{task.Name}, p {price:F3}, mu {mu:F3}, b {b:F3}";
                }
                Assert.True(shortfall <= Tolerance, $"{task.Name}, p {price}, mu {mu}: U({b}) = {U(b)} beats U(mu) = {atMu} by {shortfall:E3}");
            }
        }
        output.WriteLine($"{p.Allocation} {p.TaskKind}: {tasks} tasks ({belowPrice} with mu < p, {abovePrice} with mu > p); raw AF* gain non-monotone by more than 1e-4 " +
                         $"on [0, p] in {rawNonMonotone} (worst drop {worstRawDrop:E2}); max_b U(b) - U(mu) = {worstShortfall:E2} ({worstTask})");
        Assert.True(tasks >= 200);
        Assert.True(belowPrice >= 40 && abovePrice >= 40, "too few tasks on one side of the price");
        // Without these the test could not tell an ironed allocation from a raw one.
        Assert.True(rawNonMonotone >= minRawNonMonotone, $"only {rawNonMonotone} tasks have a non-monotone raw gain");
    }
}
