using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>PD_A*: exact Shapley against a brute-force reference and the four axioms; Monte Carlo against its bound.</summary>
public class ShapleyTests(ITestOutputHelper output)
{
    private static (TaskGains Gains, FeatureSet Sellers, double[] Y) Task(int sellers, int steps, ulong seed, MarketParameters? p = null)
    {
        var scenario = SyntheticMarket.Generate(sellers, steps, 1, seed);
        var y = scenario.Buyers[0].Target;
        var gains = MarketTask.Gains(scenario.Sellers, y, seed + 1000, p ?? MarketParameters.Default);
        return (gains, scenario.Sellers, y);
    }

    /// <summary>
    /// A buyer who needs one series z that two sellers sell, one a near copy of the other (a seller and its replica),
    /// among M - 2 synthetic sellers: y = z + 0.3 (a synthetic buyer's target, standardised) + 0.2 N(0, 1), R^2 gain.
    /// Whichever of the pair comes first in a permutation takes almost all of the gain and the other almost none, so
    /// the pair's marginals are near all-or-nothing: close to the largest variance a marginal can have, where Monte
    /// Carlo needs the most permutations. On plain synthetic buyers the variances are far smaller and any sound
    /// estimator is far inside eps, so a test there could not tell a sound estimator from a broken one.
    /// </summary>
    internal static TaskGains ReplicaTask(int sellers, int steps, ulong seed)
    {
        var scenario = SyntheticMarket.Generate(sellers - 2, steps, 1, seed);
        var rng = new SeededRandom(SeededRandom.Derive(seed, 7));
        var z = new double[steps];
        var copyNoise = new double[2 * steps];
        var targetNoise = new double[steps];
        rng.FillStandardNormal(z);
        rng.FillStandardNormal(copyNoise);
        rng.FillStandardNormal(targetNoise);
        var target = scenario.Buyers[0].Target;
        var mean = target.Average();
        var sd = Math.Sqrt(target.Average(v => (v - mean) * (v - mean)));
        var y = new double[steps];
        for (var t = 0; t < steps; t++) y[t] = z[t] + 0.3 * (target[t] - mean) / sd + 0.2 * targetNoise[t];
        var rows = Reference.Rows(scenario.Sellers).ToList();
        rows.Add(z.Select((v, t) => v + 0.05 * copyNoise[t]).ToArray());
        rows.Add(z.Select((v, t) => v + 0.05 * copyNoise[steps + t]).ToArray());
        return MarketTask.Gains(Reference.Sellers(rows.ToArray()), y, seed + 1000, MarketParameters.Default with { Gain = GainKind.RSquared });
    }

    private static double MaxError(double[] exact, double[] estimate) => exact.Zip(estimate, (a, b) => Math.Abs(a - b)).Max();

    [Theory]
    [InlineData(4, 0.0, GainKind.NormalisedRmse)]
    [InlineData(6, 0.0, GainKind.NormalisedRmse)]
    [InlineData(7, 0.6, GainKind.NormalisedRmse)]
    [InlineData(8, 1.3, GainKind.RSquared)]
    public void Exact_equals_a_brute_force_reference_on_real_tasks(int m, double s, GainKind kind)
    {
        var p = MarketParameters.Default with { Gain = kind };
        var (gains, sellers, y) = Task(m, 160, (ulong)(10 * m + 1), p);
        var exact = Shapley.Exact(gains, s);
        Assert.Equal(0, exact.Permutations);

        // brute force over the walker's gains of every coalition
        var table = Reference.WalkerGainTable(GainSystem.Build(gains.Moments, s, p), m);
        var brute = Reference.BruteShapley(table, m);
        for (var j = 0; j < m; j++) Assert.Equal(brute[j], exact.Values[j], 12);

        // and over gains from the independent QR fit on materialised features (agree to the fits' 1e-9)
        var noise = NoiseMatrix.Draw(m, 160, (ulong)(10 * m + 1) + 1000);
        var allocated = Allocation.Allocate(sellers, noise, s);
        var nTrain = TaskMoments.TrainLength(160, p.TrainFraction);
        var qrTable = Enumerable.Range(0, 1 << m).Select(mask => Reference.CoalitionGain(allocated, Reference.Members(mask, m), y, nTrain, p)).ToArray();
        var qrShapley = Reference.BruteShapley(qrTable, m);
        for (var j = 0; j < m; j++) Assert.True(Math.Abs(qrShapley[j] - exact.Values[j]) <= 5e-9, $"seller {j}: {qrShapley[j]} vs {exact.Values[j]}");

        // balance: sum phi = G(all) - G(empty)
        Assert.Equal(table[(1 << m) - 1] - table[0], exact.Values.Sum(), 12);
        Assert.Equal(gains.GainAtNoise(s) - table[0], exact.Values.Sum(), 12);
    }

    [Fact]
    public void Exact_symmetry_for_identical_sellers_and_null_player_for_a_constant_row()
    {
        var scenario = SyntheticMarket.Generate(5, 150, 1, 8);
        var rows = Reference.Rows(scenario.Sellers).ToList();
        rows.Add((double[])rows[1].Clone());               // seller 5 = seller 1
        rows.Add(Enumerable.Repeat(-2.5, 150).ToArray());   // seller 6 constant
        var sellers = Reference.Sellers(rows.ToArray());
        // the target leans on seller 1 so the symmetric pair matters
        var y = scenario.Buyers[0].Target.Select((v, t) => v + rows[1][t]).ToArray();
        var gains = Reference.Gains(sellers, y, NoiseMatrix.Draw(7, 150, 4), MarketParameters.Default);
        var phi = Shapley.Exact(gains, 0.0).Values;
        Assert.True(phi[1] > 0.01, $"phi[1] = {phi[1]}");
        Assert.Equal(phi[1], phi[5], 12);
        Assert.True(Math.Abs(phi[6]) <= 1e-15, $"constant row phi = {phi[6]}");
        Assert.Equal(gains.GainAtNoise(0) - new CoalitionWalker(GainSystem.Build(gains.Moments, 0, gains.Parameters)).Gain(), phi.Sum(), 12);

        // Null player on the gain table too: every marginal of the constant row is exactly 0.
        var table = Reference.WalkerGainTable(GainSystem.Build(gains.Moments, 0.0, gains.Parameters), 7);
        for (var mask = 0; mask < 1 << 7; mask++)
            if ((mask & (1 << 6)) == 0) Assert.True(Math.Abs(table[mask | (1 << 6)] - table[mask]) <= 1e-15);
    }

    [Fact]
    public void Additivity_of_the_brute_force_reference_and_of_exact()
    {
        const int m = 6;
        var (g1, _, _) = Task(m, 150, 41);
        var (g2, _, _) = Task(m, 150, 42, MarketParameters.Default with { Gain = GainKind.RSquared });
        var t1 = Reference.WalkerGainTable(GainSystem.Build(g1.Moments, 0.2, g1.Parameters), m);
        var t2 = Reference.WalkerGainTable(GainSystem.Build(g2.Moments, 0.5, g2.Parameters), m);
        var sum = t1.Zip(t2, (a, b) => a + b).ToArray();
        var b1 = Reference.BruteShapley(t1, m);
        var b2 = Reference.BruteShapley(t2, m);
        var bs = Reference.BruteShapley(sum, m);
        var e1 = Shapley.Exact(g1, 0.2).Values;
        var e2 = Shapley.Exact(g2, 0.5).Values;
        for (var j = 0; j < m; j++)
        {
            Assert.Equal(b1[j] + b2[j], bs[j], 12);
            Assert.Equal(e1[j] + e2[j], bs[j], 12);
        }
    }

    [Fact]
    public void Brute_force_reference_knows_a_textbook_game()
    {
        // Glove game: players 0 (left glove), 1 and 2 (right gloves); v = 1 when a pair can be made.
        // Shapley: 2/3, 1/6, 1/6.
        var v = new double[8];
        for (var mask = 0; mask < 8; mask++) v[mask] = (mask & 1) != 0 && (mask & 6) != 0 ? 1 : 0;
        var phi = Reference.BruteShapley(v, 3);
        Assert.Equal(2.0 / 3, phi[0], 15);
        Assert.Equal(1.0 / 6, phi[1], 15);
        Assert.Equal(1.0 / 6, phi[2], 15);
    }

    [Fact]
    public void Paper_permutation_count()
    {
        // K = M ln(2/delta) / (2 eps^2) = 6 ln 20 / 0.005 = 3594.9
        Assert.Equal(3595, Shapley.PaperPermutations(6, new ShapleyAccuracy(0.05, 0.1)));
        Assert.Equal((int)Math.Ceiling(20 * Math.Log(2 / 0.05) / (2 * 0.1 * 0.1)), Shapley.PaperPermutations(20, new ShapleyAccuracy(0.1, 0.05)));
    }

    /// <summary>
    /// Thm 5.3 at M = 20 against exact Shapley on the same tasks: with K = M ln(2/delta) / (2 eps^2) permutations the max
    /// error over sellers is above eps on at most delta of 100 tasks, and with K/100 on more (the test has power).
    /// Measured: at K = 2996, 0 of 100 (worst 0.019); at K/100 = 29, 21 of 100 (worst 0.24). On 20 of these tasks x 10
    /// seeds the failure rate was 0 at K/10, 1.5% at K/30, 5.5% at K/50 and 26.5% at K/100: even here Thm 5.3's K is
    /// about 70 times what is needed, so only a Monte Carlo that far short of K fails this test.
    /// eps = delta = 0.1 keeps K at 2996, and the ratio of needed to paper K does not depend on eps (both scale as
    /// 1/eps^2). The runtime is Exact's 2^20 coalitions per task, 0.3-0.5 s of CPU each, not the walks (~0.03 s for K):
    /// 30-70 s of CPU in all, spread over two threads, hence Slow. T does not change the cost (gains come from M x M
    /// Gram matrices); it is 200. Tasks are ReplicaTask at noise 0, where the pair's marginals are near all-or-nothing:
    /// on plain synthetic buyers K/100 failed on 8-13% of tasks with the R^2 gain (about delta, no margin) and on none
    /// with the normalised RMSE (K is there ~1000 times what is needed), so no count of failures at K could show power.
    /// Mutation caught: a Monte Carlo given 100 times fewer permutations than K (the second assert).
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Monte_carlo_with_the_papers_K_is_within_eps_on_1_minus_delta_of_tasks_at_M_20_and_not_with_K_over_100()
    {
        const int m = 20;
        const int tasks = 100;
        var accuracy = new ShapleyAccuracy(0.1, 0.1);
        var k = Shapley.PaperPermutations(m, accuracy);
        Assert.Equal(2996, k);
        var error = new double[tasks];
        var errorSmall = new double[tasks];
        var balance = new double[tasks];
        // Tasks are independent and each fills its own slot, so two threads give the same numbers as one.
        Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = 2 }, t =>
        {
            var gains = ReplicaTask(m, 200, (ulong)(20_000 + t));
            var exact = Shapley.Exact(gains, 0.0).Values;
            var estimate = Shapley.MonteCarlo(gains, 0.0, k, (ulong)t);
            error[t] = MaxError(exact, estimate.Values);
            // each walk is a permutation: the estimates always sum to G(all) - G(empty)
            balance[t] = Math.Abs(estimate.Values.Sum() - exact.Sum());
            errorSmall[t] = MaxError(exact, Shapley.MonteCarlo(gains, 0.0, k / 100, (ulong)t).Values);
        });
        var failures = error.Count(e => e > accuracy.Epsilon);
        var failuresSmall = errorSmall.Count(e => e > accuracy.Epsilon);
        output.WriteLine($"K = {k}: {failures} of {tasks} tasks above eps (worst {error.Max():F4}); K/100 = {k / 100}: {failuresSmall} (worst {errorSmall.Max():F4})");
        Assert.True(failures <= accuracy.Delta * tasks, $"K = {k}: {failures} of {tasks} tasks had max error > eps (worst {error.Max()})");
        Assert.True(failuresSmall > accuracy.Delta * tasks, $"K/100 = {k / 100}: only {failuresSmall} of {tasks} tasks had max error > eps: the test has no power");
        Assert.All(balance, b => Assert.True(b <= 1e-10, $"estimates sum off G(all) - G(empty) by {b}"));
    }
    [Fact]
    public void Monte_carlo_is_deterministic_per_seed_and_converges()
    {
        var (gains, _, _) = Task(5, 150, 12);
        var a = Shapley.MonteCarlo(gains, 0.3, 50, 9);
        var b = Shapley.MonteCarlo(gains, 0.3, 50, 9);
        var c = Shapley.MonteCarlo(gains, 0.3, 50, 10);
        Assert.Equal(a.Values.Select(BitConverter.DoubleToInt64Bits), b.Values.Select(BitConverter.DoubleToInt64Bits));
        Assert.NotEqual(a.Values.Select(BitConverter.DoubleToInt64Bits), c.Values.Select(BitConverter.DoubleToInt64Bits));
        // With a few permutations on a small M it is already close; with many, closer.
        var exact = Shapley.Exact(gains, 0.3).Values;
        double Err(ShapleyEstimate e) => exact.Zip(e.Values, (x, y) => Math.Abs(x - y)).Max();
        var small = Enumerable.Range(0, 10).Average(seed => Err(Shapley.MonteCarlo(gains, 0.3, 20, (ulong)seed)));
        var large = Enumerable.Range(0, 10).Average(seed => Err(Shapley.MonteCarlo(gains, 0.3, 2000, (ulong)seed)));
        Assert.True(large < small / 3, $"mean max error {small} with K=20, {large} with K=2000");
    }

    /// <summary>
    /// UntilAccurate's promise under its own optional stopping: over 1,000 runs (100 tasks x 10 seeds, M = 8, T = 160,
    /// eps = delta = 0.1) at most delta of them end with some seller more than eps from exact Shapley, wherever each
    /// stopped. Even tasks are plain synthetic buyers (both gain kinds), odd ones ReplicaTask, whose near all-or-nothing
    /// marginals are where stopping on a low sample variance goes wrong; noise levels 0 to 0.6. Measured: 0 of 1000
    /// failed; the runs stopped at 10 different checkpoints from 421 to 1092 permutations (median 821), all before the
    /// cap of 1199.
    /// Mutations tried (UntilAccurate edited, this test run, edit reverted), failures of 1000:
    /// - the old rule, the fixed-n bound (L = ln(4M/delta)) checked every 16 walks up to Thm 5.3's K: 0 (median stop 512);
    /// - the same bound checked after every walk: 0;
    /// - the sample-variance term alone (no range term 7RL/(3(n-1))), checked every 16 walks: 0 (median stop 112);
    /// - the same checked after every walk: 209 (stops from 2 walks, median 50): the test fails.
    /// The last two differ only in how often they look, so that is optional stopping biting: a run stops as soon as its
    /// variance estimate happens to be small (two walks that ordered the replicated pair alike). The old rule never
    /// failed, here nor in a table-driven simulation down to eps = 0.02 with a check after every walk: its stopping
    /// depends on the data only through the sample variances, and its range term keeps it far from the few-walk regime
    /// where those mislead. It lacked a proof (a fixed-n bound does not hold at a data-chosen n), not accuracy; this
    /// test cannot tell it from AccuracyRule, which pays for its proof in permutations (median 821 against 512).
    /// </summary>
    [Fact]
    public void Until_accurate_is_within_eps_in_at_least_1_minus_delta_of_runs_wherever_it_stops()
    {
        const int m = 8;
        const int tasks = 100;
        const int seeds = 10;
        var accuracy = new ShapleyAccuracy(0.1, 0.1);
        var cap = Shapley.UntilAccurateCap(m, accuracy);
        Assert.Equal(Shapley.PaperPermutations(m, accuracy), cap);
        var failures = 0;
        var stops = new List<int>();
        for (var t = 0; t < tasks; t++)
        {
            var s = 0.2 * (t / 2 % 4);
            var gains = t % 2 == 1
                ? ReplicaTask(m, 160, (ulong)(30_000 + t))
                : Task(m, 160, (ulong)(30_000 + t), MarketParameters.Default with { Gain = t % 4 == 0 ? GainKind.RSquared : GainKind.NormalisedRmse }).Gains;
            var exact = Shapley.Exact(gains, s).Values;
            for (var seed = 0; seed < seeds; seed++)
            {
                var estimate = Shapley.UntilAccurate(gains, s, accuracy, (ulong)(1000 * t + seed));
                Assert.InRange(estimate.Permutations, 2, cap);
                stops.Add(estimate.Permutations);
                if (MaxError(exact, estimate.Values) > accuracy.Epsilon) failures++;
            }
        }
        var runs = tasks * seeds;
        stops.Sort();
        var early = stops.Count(k => k < cap);
        output.WriteLine($"{failures} of {runs} runs above eps; stopped at {stops.Distinct().Count()} distinct K (min {stops[0]}, median {stops[runs / 2]}, max {stops[^1]}), {early} before the cap {cap}");
        Assert.True(failures <= accuracy.Delta * runs, $"{failures} of {runs} runs had max error > eps (median K {stops[runs / 2]} of cap {cap})");
        // the runs do stop early, at different times: otherwise this would only test the cap
        Assert.True(early >= runs / 2, $"only {early} of {runs} runs stopped before the cap");
        Assert.True(stops.Distinct().Count() >= 3, $"runs stopped at only {stops.Distinct().Count()} distinct K");
        Assert.Throws<ArgumentOutOfRangeException>(() => Shapley.UntilAccurate(Task(4, 100, 1).Gains, 0.1, new ShapleyAccuracy(0, 0.1), 1));
    }

    [Fact]
    public void Accuracy_rule_spends_delta_between_the_cap_and_the_checks()
    {
        // M = 20: Thm 5.3's K already makes Hoeffding's failure at the cap tiny (2M exp(-K eps^2 / 2) ~ 1e-5 at eps = 0.05).
        var a20 = new ShapleyAccuracy(0.05, 0.1);
        var r20 = AccuracyRule.For(20, a20);
        Assert.Equal(Shapley.PaperPermutations(20, a20), r20.Cap);
        Assert.Equal(40 * Math.Exp(-r20.Cap * 0.05 * 0.05 / 2), r20.CapDelta, 15);
        Assert.True(r20.CapDelta < 1e-4);
        // M = 6: Thm 5.3's K = 3595 leaves 2M (delta/2)^(M/4) = 0.13 > delta for marginals in [-1, 1]; the cap is raised
        // to 4 ln(4M/delta) / (2 eps^2) = 4385 so that half of delta covers it.
        var a6 = new ShapleyAccuracy(0.05, 0.1);
        var r6 = AccuracyRule.For(6, a6);
        Assert.Equal(3595, Shapley.PaperPermutations(6, a6));
        Assert.Equal(4385, r6.Cap);
        Assert.Equal(4385, Shapley.UntilAccurateCap(6, a6));
        Assert.True(r6.CapDelta <= 0.05);
        foreach (var (rule, sellers, accuracy) in new[] { (r20, 20, a20), (r6, 6, a6) })
        {
            var n = rule.Checkpoints.Count;
            Assert.True(n >= 10);
            // L = ln(4 N M / (delta - delta_cap)): the checks and the cap together spend exactly delta
            Assert.Equal(Math.Log(4.0 * n * sellers / (accuracy.Delta - rule.CapDelta)), rule.LogTerm, 12);
            Assert.All(rule.Checkpoints.Zip(rule.Checkpoints.Skip(1)), p => Assert.InRange(p.Second, p.First + 1, (int)Math.Ceiling(p.First * AccuracyRule.CheckpointRatio) + 1));
            Assert.True(rule.Checkpoints[^1] < rule.Cap);
            // the first check can pass (a seller with constant marginals), and starting a check earlier could not
            var first = rule.Checkpoints[0];
            Assert.True(rule.HalfWidth(0, first) <= accuracy.Epsilon, $"first check at {first}: {rule.HalfWidth(0, first)}");
            Assert.True(rule.HalfWidth(0, (int)(first / AccuracyRule.CheckpointRatio)) > accuracy.Epsilon);
        }
        // the half-width is Maurer and Pontil's (Thm 4) with range 2
        Assert.Equal(Math.Sqrt(2 * 0.01 * r6.LogTerm / 100) + 7 * 2.0 * r6.LogTerm / (3 * 99), r6.HalfWidth(0.01, 100), 15);
    }
    [Fact]
    public void Shares_are_positive_parts_normalised()
    {
        var shares = Shapley.Shares([0.375, -0.125, 0.125, 0.0]);
        Assert.Equal([0.75, 0.0, 0.25, 0.0], shares);
        Assert.Equal([0.0, 0.0], Shapley.Shares([-0.2, 0.0]));
        Assert.Equal(Shapley.Shares([0.25, 0.5]), new ShapleyEstimate([0.25, 0.5], 0).Shares());
    }
}
