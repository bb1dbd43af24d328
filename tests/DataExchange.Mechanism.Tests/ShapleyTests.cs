namespace DataExchange.Mechanism.Tests;

/// <summary>PD_A*: exact Shapley against a brute-force reference and the four axioms; Monte Carlo against its bound.</summary>
public class ShapleyTests
{
    private static (TaskGains Gains, FeatureSet Sellers, double[] Y) Task(int sellers, int steps, ulong seed, MarketParameters? p = null)
    {
        var scenario = SyntheticMarket.Generate(sellers, steps, 1, seed);
        var y = scenario.Buyers[0].Target;
        var gains = MarketTask.Gains(scenario.Sellers, y, seed + 1000, p ?? MarketParameters.Default);
        return (gains, scenario.Sellers, y);
    }

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

    [Fact]
    public void Monte_carlo_with_the_papers_K_is_within_eps_in_at_least_1_minus_delta_of_runs()
    {
        const int m = 6;
        var accuracy = new ShapleyAccuracy(0.05, 0.1);
        var k = Shapley.PaperPermutations(m, accuracy);
        var (gains, _, _) = Task(m, 200, 3);
        const double s = 0.5;
        var exact = Shapley.Exact(gains, s).Values;
        const int runs = 200;
        var failures = 0;
        var worst = 0.0;
        for (var seed = 0; seed < runs; seed++)
        {
            var estimate = Shapley.MonteCarlo(gains, s, k, (ulong)seed);
            Assert.Equal(k, estimate.Permutations);
            var error = exact.Zip(estimate.Values, (a, b) => Math.Abs(a - b)).Max();
            worst = Math.Max(worst, error);
            if (error >= accuracy.Epsilon) failures++;
            // each walk is a permutation: the estimates always sum to G(all) - G(empty)
            Assert.Equal(exact.Sum(), estimate.Values.Sum(), 10);
        }
        Assert.True(failures <= accuracy.Delta * runs, $"{failures} of {runs} runs had max error >= eps (worst {worst})");
        // sanity: the estimate is not trivially exact (the test can fail)
        Assert.True(worst > 0);
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

    [Fact]
    public void Until_accurate_uses_at_most_the_papers_K_and_meets_the_accuracy()
    {
        const int m = 6;
        var accuracy = new ShapleyAccuracy(0.05, 0.1);
        var cap = Shapley.PaperPermutations(m, accuracy);
        var (gains, _, _) = Task(m, 200, 5);
        const double s = 0.4;
        var exact = Shapley.Exact(gains, s).Values;
        const int runs = 150;
        var failures = 0;
        var used = 0L;
        for (var seed = 0; seed < runs; seed++)
        {
            var estimate = Shapley.UntilAccurate(gains, s, accuracy, (ulong)(1000 + seed));
            Assert.InRange(estimate.Permutations, 2, cap);
            used += estimate.Permutations;
            var error = exact.Zip(estimate.Values, (a, b) => Math.Abs(a - b)).Max();
            if (error >= accuracy.Epsilon) failures++;
        }
        Assert.True(failures <= accuracy.Delta * runs, $"{failures} of {runs} runs had max error >= eps (mean K {used / runs} of cap {cap})");
        Assert.Throws<ArgumentOutOfRangeException>(() => Shapley.UntilAccurate(gains, s, new ShapleyAccuracy(0, 0.1), 1));
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
