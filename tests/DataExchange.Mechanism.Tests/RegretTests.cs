using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// Thm 5.2: PF*'s average regret against the best fixed grid price falls with N and stays under the bound, on revenue
/// curves RF*(c, mu) the library computes for tasks of a synthetic market (TaskGains.RevenueCurve), not closed forms.
/// </summary>
public class RegretTests(ITestOutputHelper output)
{
    private static double ThmBound(PriceGrid grid, int n) => 2 * grid.MaxPrice * Delta(grid, n) + 1 / Math.Sqrt(n);

    /// <summary>delta = sqrt(ln |grid| / N) of Thm 5.2, from the formula, not from the library.</summary>
    private static double Delta(PriceGrid grid, int n) => Math.Sqrt(Math.Log(grid.Count) / n);

    /// <summary>
    /// A market where data is worth buying: the default one (sigma 1, normalised RMSE) earns the best fixed price 0.026 a
    /// task, 1.3 % of b_max, so no bound in units of b_max could ever fail. With sigma 10, R^2 and mu in [1, 2] it earns 0.63.
    /// </summary>
    private static MarketParameters Market(int n) => MarketParameters.Default with { ExpectedTasks = n, NoiseSigma = 10, Gain = GainKind.RSquared };

    private const int PoolSize = 240;
    private const int AdversaryChoices = 48;

    /// <summary>
    /// Revenue curves of 240 tasks (M from 2 to 20, T from 150 to 400, truthful bids): computing 10^4 curves of 201 prices is
    /// too slow, so each sequence is drawn from this pool. Thm 5.2 holds for any sequence, so drawing from a pool loses nothing.
    /// </summary>
    private static double[][] Pool(MarketParameters p, PriceGrid grid)
    {
        int[] sellers = [2, 3, 5, 8, 12, 16, 20];
        int[] steps = [150, 220, 300, 400];
        var pool = new List<double[]>(PoolSize);
        for (var i = 0; pool.Count < PoolSize; i++)
        {
            var scenario = SyntheticMarket.Generate(sellers[i % sellers.Length], steps[i / sellers.Length % steps.Length], 4, (ulong)(9000 + i), 1.0, 2.0);
            foreach (var (buyer, n) in scenario.Buyers.Select((b, n) => (b, n)).Take(PoolSize - pool.Count))
                pool.Add(MarketTask.Gains(scenario.Sellers, buyer.Target, SeededRandom.Derive((ulong)i, (ulong)n), p).RevenueCurve(grid, buyer.Valuation));
        }
        return pool.ToArray();
    }

    private enum Sequence
    {
        /// <summary>Tasks drawn independently from the pool.</summary>
        Drawn,
        /// <summary>Each task the curve (of the pool's first 48) on which the current weights fall furthest below its best price.</summary>
        Adversary,
    }

    private sealed record Play(double Regret, double SampledRegret, double Guarantee, double BestAverage, double LargestStep);

    /// <summary>
    /// PF* over N tasks, through the library's own update (<paramref name="rate"/> null) or with that learning rate;
    /// regret per task with the expected reward under the weights.
    /// Guarantee: MWU's own bound for the mechanism's delta on this very sequence. With g = RF*/b_max in [0, 1],
    /// sum_c w_c grows by (1 + delta E_w g) each task and w_c* by (1 + delta g_c*), so
    /// sum_t E_w g >= (sum_t ln(1 + delta g_c*,t) - ln |grid|) / delta (the proof of Thm 5.2 before its last step; about
    /// (delta/2) sum g*^2 + ln|grid| / delta instead of delta N + ln|grid| / delta). LargestStep: the largest total-variation
    /// change of the price distribution in one task; with rate delta it is delta E|g - E g| / (2 (1 + delta E g)) &lt;= delta / 4.
    /// </summary>
    private static Play Run(double[][] pool, PriceGrid grid, int n, double? rate, Sequence kind, ulong seed)
    {
        var delta = Delta(grid, n);
        var rng = new SeededRandom(seed);
        var state = PricerState.Initial(grid);
        var totals = new double[grid.Count];
        var sequence = new int[n];
        double earned = 0, sampled = 0, largestStep = 0;
        var probabilities = state.Probabilities();
        var maxima = pool.Select(curve => curve.Max()).ToArray();
        for (var t = 0; t < n; t++)
        {
            int k;
            if (kind == Sequence.Drawn) k = rng.Next(pool.Length);
            else
            {
                k = 0;
                var worst = double.NegativeInfinity;
                for (var j = 0; j < AdversaryChoices; j++)
                {
                    var gap = maxima[j] - Expected(probabilities, pool[j]);
                    if (gap > worst) (worst, k) = (gap, j);
                }
            }
            sequence[t] = k;
            var curve = pool[k];
            earned += Expected(probabilities, curve);
            sampled += curve[MultiplicativeWeightsPricer.Quote(state, grid, SeededRandom.Derive(seed, (ulong)t)).Index];
            for (var c = 0; c < grid.Count; c++) totals[c] += curve[c];
            state = rate is { } r ? MultiplicativeWeightsPricer.Update(state, grid, curve, r) : MultiplicativeWeightsPricer.Update(state, grid, curve);
            var next = state.Probabilities();
            var step = 0.0;
            for (var c = 0; c < grid.Count; c++) step += Math.Abs(next[c] - probabilities[c]) / 2;
            largestStep = Math.Max(largestStep, step);
            probabilities = next;
        }
        var best = Array.IndexOf(totals, totals.Max());
        var logGrowth = sequence.Sum(k => Math.Log(1 + delta * Math.Clamp(pool[k][best] / grid.MaxPrice, 0, 1)));
        var guaranteedEarned = grid.MaxPrice * (logGrowth - Math.Log(grid.Count)) / delta;
        return new Play((totals[best] - earned) / n, (totals[best] - sampled) / n, (totals[best] - guaranteedEarned) / n, totals[best] / n, largestStep);
    }

    private static double Expected(double[] probabilities, double[] curve)
    {
        var e = 0.0;
        for (var c = 0; c < curve.Length; c++) e += probabilities[c] * curve[c];
        return e;
    }

    [Fact]
    public void Bound_is_0_80_at_N_100_0_29_at_1000_and_0_10_at_10000()
    {
        Assert.Equal(0.80, ThmBound(PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 100 }), 100), 2);
        Assert.Equal(0.29, ThmBound(PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 1000 }), 1000), 2);
        Assert.Equal(0.10, ThmBound(PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 10000 }), 10000), 2);
    }

    /// <summary>
    /// The pricer as the library runs it, and at 0.1 delta, 10 delta and 0 (no update), through the same checks: regret under Thm 5.2's
    /// bound and under MWU's guarantee at delta (which is below the best price's own average reward, so it can fail), regret
    /// falling with N, the sampled prices' regret within the guarantee plus Azuma's margin, and no task moving the price
    /// distribution by more than delta / 4. Every variant must fail at least one check. A rate 10x too large cannot fail a
    /// regret bound that holds for delta: Hedge's worst case at rate eta is about eta N / 8 in reward units (two prices kept
    /// level), 1.25 delta N at 10 delta, within Thm 5.2's 2 delta N (on drawn tasks it even beats delta). What it breaks is
    /// the step size, which is what keeps one buyer's bid from steering the next prices.
    /// Measured (regret/N drawn, adversary vs guarantee, Thm 5.2): N 100: 0.141, 0.126 vs 0.37, 0.80; N 1000: 0.056, 0.057
    /// vs 0.14, 0.29; N 10^4: 0.024, 0.027 vs 0.049, 0.10. Mutations of the library (each failed here, then reverted):
    /// delta x10 in PriceGrid.Create (steps of 0.12 > 0.044 at N 100); delta x0.1 (regret 0.114 > 0.102 at 10^4, 0.81 > 0.80
    /// against the adversary at 100); the public Update not learning (regret 0.27 at 10^4, 0.94-0.98 against the adversary).
    /// </summary>
    [Fact]
    public void Pricer_meets_its_regret_bound_on_library_revenue_curves_and_rates_10x_off_or_no_update_do_not()
    {
        int[] sizes = [100, 1000, 10000];
        double[] multipliers = [1.0, 0.1, 10.0, 0.0];
        var plays = new Dictionary<(double Multiplier, int N, Sequence Kind), Play>();
        var grids = new Dictionary<int, PriceGrid>();
        foreach (var n in sizes)
        {
            var p = Market(n);
            var grid = grids[n] = PriceGrid.Create(p);
            var pool = Pool(p, grid);
            foreach (var m in multipliers)
                foreach (var kind in new[] { Sequence.Drawn, Sequence.Adversary })
                {
                    var play = plays[(m, n, kind)] = Run(pool, grid, n, m == 1.0 ? null : m * Delta(grid, n), kind, (ulong)(77 + n));
                    output.WriteLine($"{m,4} delta, N {n,5}, {kind,-9}: regret/N {play.Regret:F4} (sampled {play.SampledRegret:F4}), " +
                                     $"guarantee {play.Guarantee:F4}, Thm 5.2 {ThmBound(grid, n):F4}, best price earns {play.BestAverage:F4}, " +
                                     $"largest step {play.LargestStep:F4} (delta/4 = {Delta(grid, n) / 4:F4})");
                    // The guarantee is informative: below what the best price itself earns a task.
                    Assert.True(play.Guarantee < play.BestAverage, $"N {n}: guarantee {play.Guarantee} not below {play.BestAverage}");
                }
        }

        List<string> Violations(double m)
        {
            var found = new List<string>();
            foreach (var kind in new[] { Sequence.Drawn, Sequence.Adversary })
            {
                for (var i = 0; i < sizes.Length; i++)
                {
                    var (n, grid, play) = (sizes[i], grids[sizes[i]], plays[(m, sizes[i], kind)]);
                    if (play.Regret > ThmBound(grid, n)) found.Add($"N {n} {kind}: regret {play.Regret:F4} > Thm 5.2 {ThmBound(grid, n):F4}");
                    if (play.Regret > play.Guarantee) found.Add($"N {n} {kind}: regret {play.Regret:F4} > guarantee {play.Guarantee:F4}");
                    // Realised minus expected reward is a martingale with steps in [-b_max, b_max]: Azuma at 1e-6.
                    var azuma = grid.MaxPrice * Math.Sqrt(2 * Math.Log(1e6) / n);
                    if (play.SampledRegret > play.Guarantee + azuma)
                        found.Add($"N {n} {kind}: sampled regret {play.SampledRegret:F4} > {play.Guarantee + azuma:F4}");
                    if (play.LargestStep > Delta(grid, n) / 4 + 1e-12) found.Add($"N {n} {kind}: a step of {play.LargestStep:F4} > delta/4 = {Delta(grid, n) / 4:F4}");
                    if (i > 0 && !(play.Regret < plays[(m, sizes[i - 1], kind)].Regret))
                        found.Add($"N {n} {kind}: regret {play.Regret:F4} not below N {sizes[i - 1]}'s {plays[(m, sizes[i - 1], kind)].Regret:F4}");
                }
            }
            return found;
        }

        var atDelta = Violations(1.0);
        Assert.True(atDelta.Count == 0, "PF* at delta: " + string.Join("; ", atDelta));
        foreach (var m in multipliers.Where(m => m != 1.0))
        {
            var found = Violations(m);
            output.WriteLine($"{m} delta fails {found.Count} checks: {string.Join("; ", found)}");
            Assert.True(found.Count > 0, $"a learning rate of {m} delta passes every check");
        }
    }
}
