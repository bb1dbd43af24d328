using System.Collections.Immutable;
using System.Text.Json;

namespace DataExchange.Mechanism.Tests;

/// <summary>Each formula of the mechanism against a case worked out by hand.</summary>
public class FormulaTests
{
    // ---------- AF* ----------

    [Theory]
    [InlineData(1.0, 1.0, 1.0, 0.0)]     // b = p: exact
    [InlineData(0.5, 2.0, 1.0, 0.0)]     // b > p: exact
    [InlineData(2.0, 0.5, 1.0, 1.5)]     // (p - b) sigma
    [InlineData(2.0, 0.5, 1.5, 2.25)]
    [InlineData(1.25, 0.75, 2.0, 1.0)]
    [InlineData(0.0, 0.25, 1.0, 0.0)]
    public void NoiseScale_is_max0_p_minus_b_times_sigma(double price, double bid, double sigma, double expected)
        => Assert.Equal(expected, Allocation.NoiseScale(price, bid, sigma), 15);

    [Fact]
    public void Allocate_gives_exact_features_at_zero_noise_and_X_plus_sE_otherwise()
    {
        var rng = new SeededRandom(7);
        var (sellers, _) = Reference.RandomTask(rng, 4, 50);
        var noise = NoiseMatrix.Draw(4, 50, 99);
        var exact = Allocation.Allocate(sellers, noise, 0.0);
        for (var m = 0; m < 4; m++)
            for (var t = 0; t < 50; t++)
                Assert.Equal(BitConverter.DoubleToInt64Bits(sellers.Row(m)[t]), BitConverter.DoubleToInt64Bits(exact[m][t]));

        const double s = 0.7;
        var noisy = Allocation.Allocate(sellers, noise, s);
        for (var m = 0; m < 4; m++)
            for (var t = 0; t < 50; t++)
                Assert.Equal(sellers.Row(m)[t] + s * noise.Row(m)[t], noisy[m][t], 14);
    }

    [Fact]
    public void NoiseMatrix_is_standard_normal_and_fixed_by_its_seed()
    {
        var a = NoiseMatrix.Draw(5, 4000, 123);
        var b = NoiseMatrix.Draw(5, 4000, 123);
        var c = NoiseMatrix.Draw(5, 4000, 124);
        double sum = 0, sumSq = 0;
        var differs = false;
        for (var m = 0; m < 5; m++)
        {
            Assert.True(a.Row(m).SequenceEqual(b.Row(m)));
            differs |= !a.Row(m).SequenceEqual(c.Row(m));
            foreach (var v in a.Row(m))
            {
                sum += v;
                sumSq += v * v;
            }
        }
        Assert.True(differs);
        var n = 20000.0;
        var mean = sum / n;
        var variance = sumSq / n - mean * mean;
        Assert.InRange(mean, -0.03, 0.03);            // sd of the mean is 0.007
        Assert.InRange(variance, 0.96, 1.04);         // sd of the variance is 0.01
    }

    [Fact]
    public void Gain_at_a_bid_uses_one_noise_matrix_for_every_bid()
    {
        // Common random numbers: G(p, b) equals the reference gain on X + (p - b) E with the task's one E.
        var rng = new SeededRandom(11);
        var (sellers, y) = Reference.RandomTask(rng, 3, 80);
        var noise = NoiseMatrix.Draw(3, 80, 5);
        var p = MarketParameters.Default;
        var gains = Reference.Gains(sellers, y, noise, p);
        var nTrain = TaskMoments.TrainLength(80, p.TrainFraction);
        const double price = 1.6;
        foreach (var bid in new[] { 0.1, 0.6, 1.2, 1.6, 1.9 })
        {
            // AF*'s copy, and the copy delivered (the ironed allocation: never less noise than AF*'s)
            var s = Allocation.NoiseScale(price, bid, p.NoiseSigma);
            var expected = Reference.CoalitionGain(Allocation.Allocate(sellers, noise, s), [0, 1, 2], y, nTrain, p);
            Assert.Equal(expected, gains.GainAtNoise(s), 9);
            var delivered = gains.AllocatedNoise(price, bid);
            Assert.True(delivered >= s);
            var deliveredGain = Reference.CoalitionGain(Allocation.Allocate(sellers, noise, delivered), [0, 1, 2], y, nTrain, p);
            Assert.Equal(deliveredGain, gains.Gain(price, bid), 9);
        }
        Assert.Equal(gains.Gain(price, 1.6), gains.Gain(price, 5.0));
        Assert.True(gains.Gain(price, 1.6) >= gains.GainAtNoise(0.0));
    }

    // ---------- the model and G, by hand ----------

    // One seller whose series equals the target: y = x = 1..7 (train, mean 4, population sd 2), then 2, 9, 12 (test).
    // Ridge alpha = 1 on the standardised feature: beta_std = sum(z yc) / (sum z^2 + 1) = 14 / 8 = 1.75, so the
    // prediction is 4 + 0.875 (x - 4) and the held-out residuals are (y - 4) / 8 = (-2, 5, 8) / 8: SSE = 93 / 64.
    // Range of the test part: 12 - 2 = 10. Test mean 23/3, SS_tot = 158/3.
    private static readonly double[] HandY = [1, 2, 3, 4, 5, 6, 7, 2, 9, 12];

    private static TaskGains HandTask(MarketParameters p)
    {
        var sellers = new FeatureSet(["a"], [HandY]);
        return Reference.Gains(sellers, HandY, NoiseMatrix.Draw(1, 10, 1), p);
    }

    [Fact]
    public void Hand_worked_ridge_gain_normalised_rmse()
    {
        Assert.Equal(7, TaskMoments.TrainLength(10, 0.7));
        var gains = HandTask(MarketParameters.Default);
        Assert.Equal(1.0 - Math.Sqrt(93.0 / 64.0 / 3.0) / 10.0, gains.GainAtNoise(0.0), 12);
        // Empty coalition predicts the training mean 4: residuals (-2, 5, 8), SSE 93.
        var empty = new CoalitionWalker(GainSystem.Build(gains.Moments, 0.0, gains.Parameters)).Gain();
        Assert.Equal(1.0 - Math.Sqrt(93.0 / 3.0) / 10.0, empty, 12);
    }

    [Fact]
    public void Hand_worked_ridge_gain_r_squared()
    {
        var gains = HandTask(MarketParameters.Default with { Gain = GainKind.RSquared });
        Assert.Equal(1.0 - (93.0 / 64.0) / (158.0 / 3.0), gains.GainAtNoise(0.0), 12);
        // Empty coalition: R^2 = 1 - 93 / (158/3) < 0, clipped to 0.
        var empty = new CoalitionWalker(GainSystem.Build(gains.Moments, 0.0, gains.Parameters)).Gain();
        Assert.Equal(0.0, empty);
    }

    [Fact]
    public void Hand_worked_predictions_and_ols()
    {
        var gains = HandTask(MarketParameters.Default);
        var sellers = new FeatureSet(["a"], [HandY]);
        var predictions = gains.Predictions(sellers, NoiseMatrix.Draw(1, 10, 1), 1.0, 1.0);
        Assert.Equal(3, predictions.Length);
        Assert.Equal(2.25, predictions[0], 12);
        Assert.Equal(8.375, predictions[1], 12);
        Assert.Equal(11.0, predictions[2], 12);

        // OLS reproduces y = x exactly: G = 1 (up to the rounding of a zero SSE under a square root).
        var ols = HandTask(MarketParameters.Default with { RidgeAlpha = 0 });
        Assert.Equal(1.0, ols.GainAtNoise(0.0), 6);
    }

    [Fact]
    public void Gain_matches_an_independent_fit_on_a_small_dataset_for_both_gain_kinds()
    {
        var rng = new SeededRandom(2024);
        var (sellers, y) = Reference.RandomTask(rng, 3, 20);
        var noise = NoiseMatrix.Draw(3, 20, 3);
        foreach (var kind in new[] { GainKind.NormalisedRmse, GainKind.RSquared })
        {
            foreach (var alpha in new[] { 0.0, 1.0, 3.5 })
            {
                var p = MarketParameters.Default with { Gain = kind, RidgeAlpha = alpha };
                var gains = Reference.Gains(sellers, y, noise, p);
                var expected = Reference.CoalitionGain(Reference.Rows(sellers), [0, 1, 2], y, 14, p);
                Assert.Equal(expected, gains.GainAtNoise(0.0), 9);
            }
        }
    }

    // ---------- RF* ----------

    /// <summary>
    /// Myerson's RF* straight from Eq. 3 for a non-decreasing delivered gain g: b g(b) - integral_0^b g = integral_0^b z dg(z),
    /// the sum of (jump location) x (jump size) over the jumps of g on (0, b]. The jumps are found by bisecting every
    /// interval whose ends differ down to a width of 1e-14 b, knowing nothing of where the library puts its steps; a
    /// non-decreasing g with equal ends is flat between them. Independent of MyersonRevenue and IronedGain.
    /// </summary>
    internal static double ExactRevenue(Func<double, double> gain, double bid)
    {
        if (!(bid > 0)) return 0;
        var width = 1e-14 * bid;
        var revenue = 0.0;
        var stack = new Stack<(double A, double GA, double B, double GB)>();
        stack.Push((0, gain(0), bid, gain(bid)));
        while (stack.Count > 0)
        {
            var (a, ga, b, gb) = stack.Pop();
            if (gb == ga) continue;
            if (b - a <= width)
            {
                revenue += b * (gb - ga);
                continue;
            }
            var mid = a + (b - a) / 2;
            var gm = gain(mid);
            stack.Push((a, ga, mid, gm));
            stack.Push((mid, gm, b, gb));
        }
        return revenue;
    }

    /// <summary>
    /// RF*'s documented error bound: |TaskGains.Revenue - ExactRevenue| on real tasks. The ironed gain is a step
    /// function, so the library's sum is Eq. 3 exactly; what is left is rounding (the reference's jump locations are
    /// within 1e-14 b, worth at most 1e-14 b (G~(b) - G~(0)), and the library's sum of at most 15 terms).
    /// </summary>
    internal const double QuadratureTolerance = 1e-12;

    [Fact]
    public void Myerson_known_answer_through_the_librarys_own_revenue_for_bids_from_a_tenth_to_a_thousand_times_the_price()
    {
        // h(z) = g min(z/p, 1) ironed on z_k = p k / 14: G~ = g j / 14 in step j = floor(14 b / p) (14 from b = p on), and
        // RF* = sum_{k <= j} z_k g / 14 = g p j (j + 1) / 392 (by hand; the continuous curve would give g b^2 / (2p)).
        // Mutations: b G~(b) - trapezoid on 15 points over [0, b] fails at once (p 1.2, b 0.12: 0.00407 for 0.00429);
        // no ironing (raw gains at the step bids) fails the tent (0.0086 for 2 g p / 7 = 0.24).
        const int steps = 14;
        foreach (var (price, g) in new[] { (1.2, 0.7), (0.5, 1.0), (0.09, 0.3), (1.9, 0.05) })
        {
            double H(double z) => g * Math.Min(z / price, 1.0);
            foreach (var (factor, j) in new[] { (0.1, 1), (0.25, 3), (0.5, 7), (0.9, 12), (0.999, 13), (1.0, 14), (1.001, 14), (2.0, 14), (10.0, 14), (100.0, 14), (1000.0, 14) })
            {
                var bid = factor * price;
                var expected = g * price * j * (j + 1) / (2.0 * steps * steps);
                var rf = MyersonRevenue.Revenue(H, price, bid, steps + 1);
                Assert.True(Math.Abs(rf - expected) <= 1e-14 * Math.Max(1, expected / 1e-3), $"p {price}, b {bid}: RF* {rf}, expected {expected}");
                Assert.Equal(g * j / steps, IronedGain.Create(H, price, steps + 1).Gain(bid), 14);
            }
            // A tent peaking at p/2 (more noise scoring better above it): ironed flat at g from b = p/2 on, charged
            // sum_{k = 1..7} (p k / 14)(g / 7) = 2 g p / 7 there, and nothing for the falling part.
            double Tent(double z) => g * (1 - Math.Abs(2 * z / price - 1));
            foreach (var factor in new[] { 0.5, 0.75, 1.0, 3.0 })
            {
                Assert.Equal(2 * g * price / 7, MyersonRevenue.Revenue(Tent, price, factor * price, steps + 1), 14);
                Assert.Equal(g, IronedGain.Create(Tent, price, steps + 1).Gain(factor * price), 14);
            }
            // Falling from the start: flat at h(0), so no bid is charged anything.
            Assert.Equal(0.0, MyersonRevenue.Revenue(z => g * (1 - z / (2 * price)), price, 2 * price, steps + 1));
        }
        // mu = 0.8, p = 1.2: U(b) = mu G~(b) - RF*(b) = 0.8 g j / 14 - 1.2 g j (j + 1) / 392 is largest in mu's step
        // j = 9 (b in [0.771, 0.857)), where it is 0.238776 g; every other step earns less.
        const double gg = 0.9;
        var ironed = IronedGain.Create(z => gg * Math.Min(z / 1.2, 1.0), 1.2, steps + 1);
        double U(double b) => 0.8 * ironed.Gain(b) - ironed.Revenue(b);
        Assert.Equal(0.238776 * gg, U(0.8), 6);
        foreach (var b in new[] { 0.1, 0.5, 0.7, 0.77, 0.86, 0.9, 1.2, 1.6, 2.0, 20.0, 1200.0 }) Assert.True(U(b) < U(0.8), $"U({b}) = {U(b)}");
        foreach (var b in new[] { 0.772, 0.79, 0.81, 0.856 }) Assert.Equal(U(0.8), U(b));
    }

    [Fact]
    public void Revenue_is_within_the_documented_quadrature_error_of_a_fine_reference_and_within_bounds()
    {
        var scenario = SyntheticMarket.Generate(6, 150, 12, 77, 0.5, 2.0);
        var p = MarketParameters.Default;
        Assert.Equal(15, p.IntegralPoints);
        var grid = PriceGrid.Create(p);
        var checkedPositive = 0;
        var worst = 0.0;
        for (var n = 0; n < scenario.Buyers.Count; n++)
        {
            var buyer = scenario.Buyers[n];
            var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, (ulong)(500 + n), p);
            foreach (var price in new[] { grid.Prices[3], grid.Prices[11], grid.Prices[17], grid.Prices[21] })
            {
                foreach (var bid in new[] { 0.05, 0.4, buyer.Valuation, 1.3, 2.0 })
                {
                    var rf = gains.Revenue(price, bid);
                    var expected = ExactRevenue(z => gains.Gain(price, z), bid);
                    worst = Math.Max(worst, Math.Abs(rf - expected));
                    Assert.True(Math.Abs(rf - expected) <= QuadratureTolerance, $"p {price}, b {bid}: RF* {rf}, reference {expected}");
                    var gb = gains.Gain(price, bid);
                    Assert.True(rf >= 0 && rf <= bid * gb + 1e-12 && bid * gb <= p.MaxPrice + 1e-12,
                        $"0 <= RF* = {rf} <= b G(b) = {bid * gb} <= bMax fails at p={price}, b={bid}");
                    if (rf > 1e-6) checkedPositive++;
                }
            }
        }
        Assert.True(checkedPositive > 20, $"only {checkedPositive} cases had positive revenue");
        Console.WriteLine($"largest |RF* - reference| = {worst:E2}");
    }

    [Fact]
    public void Revenue_for_any_bid_at_or_above_the_price_is_the_charge_at_the_price_to_the_last_bit()
    {
        // Mutation: the old quadrature over [0, b] charged 0.0468, 0.0591 and 0.591 at b = 3, 30, 300; this fails at once.
        var scenario = SyntheticMarket.Generate(6, 150, 3, 31);
        var p = MarketParameters.Default;
        var grid = PriceGrid.Create(p);
        foreach (var (buyer, n) in scenario.Buyers.Select((b, n) => (b, n)))
        {
            var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, (ulong)(8 + n), p);
            foreach (var price in grid.Prices.Where(c => c > 0))
            {
                var atPrice = gains.Revenue(price, price);
                foreach (var bid in new[] { price * 1.0000001, price + 0.3, 2.0, 3.0, 30.0, 300.0, 1e6 }.Where(b => b >= price))
                    Assert.Equal(BitConverter.DoubleToInt64Bits(atPrice), BitConverter.DoubleToInt64Bits(gains.Revenue(price, bid)));
                var curve = gains.RevenueCurve(grid, 1e6);
                Assert.Equal(atPrice, curve[grid.IndexOf(price)]);
            }
            Assert.True(gains.Revenue(1.5, 1.5) > 0.001, $"RF*(1.5, 1.5) = {gains.Revenue(1.5, 1.5)}");
            Assert.Equal(0.0, gains.Revenue(1.5, 0.0));
            Assert.Equal(0.0, gains.Revenue(0.0, 1.0));
        }
    }

    // ---------- PF* ----------

    [Fact]
    public void Price_grid_for_N_120_has_22_experts_and_delta_0_1605()
    {
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 120 });
        Assert.Equal(22, grid.Count);
        Assert.Equal(1.0 / Math.Sqrt(120), grid.Step, 15);
        Assert.Equal(0.1605, Math.Round(grid.Delta, 4));
        Assert.Equal(Math.Sqrt(Math.Log(22) / 120), grid.Delta, 15);
        for (var i = 0; i < 22; i++) Assert.Equal(i / Math.Sqrt(120), grid.Prices[i], 12);
        Assert.True(grid.Prices[21] <= 2.0);
        Assert.Equal(2.0, grid.MaxPrice);

        var hundred = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 100 });
        Assert.Equal(21, hundred.Count);
        Assert.Equal(2.0, hundred.Prices[20], 9);
        Assert.Equal(7, hundred.IndexOf(hundred.Prices[7]));
    }

    [Fact]
    public void Mwu_update_by_hand_on_a_five_price_grid()
    {
        // N = 4: step 1/2, grid {0, 0.5, 1, 1.5, 2}, delta = sqrt(ln 5 / 4).
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 4 });
        Assert.Equal(5, grid.Count);
        var delta = Math.Sqrt(Math.Log(5) / 4);
        Assert.Equal(delta, grid.Delta, 15);
        var state = new PricerState(ImmutableArray.Create(1.0, 2.0, 0.5, 1.0, 3.0), 7);
        // revenues 0, 0.5, 1, 3 (clipped: 3/2 > 1), -1 (clipped to 0); g = r / bMax = 0, .25, .5, 1, 0
        var next = MultiplicativeWeightsPricer.Update(state, grid, [0.0, 0.5, 1.0, 3.0, -1.0]);
        double[] expected = [1.0, 2.0 * (1 + 0.25 * delta), 0.5 * (1 + 0.5 * delta), 1.0 + delta, 3.0];
        Assert.Equal(8, next.Updates);
        for (var c = 0; c < 5; c++) Assert.Equal(expected[c], next.Weights[c], 14);
        // probabilities
        var probabilities = next.Probabilities();
        var total = expected.Sum();
        for (var c = 0; c < 5; c++) Assert.Equal(expected[c] / total, probabilities[c], 14);

        Assert.Throws<ArgumentException>(() => MultiplicativeWeightsPricer.Update(state, grid, [0.0, 1.0]));
        Assert.Throws<ArgumentException>(() => MultiplicativeWeightsPricer.Update(state, grid, [0.0, double.NaN, 0, 0, 0]));
    }

    [Fact]
    public void Mwu_rescaling_of_huge_weights_keeps_the_probabilities()
    {
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 4 });
        var state = new PricerState(ImmutableArray.Create(1e200, 3e199, 1e150, 2e200, 5e199), 0);
        double[] curve = [2.0, 1.0, 0.0, 0.5, 1.5];
        var next = MultiplicativeWeightsPricer.Update(state, grid, curve);
        var expected = new double[5];
        for (var c = 0; c < 5; c++) expected[c] = state.Weights[c] * (1 + grid.Delta * Math.Clamp(curve[c] / 2, 0, 1));
        var total = expected.Sum();
        var probabilities = next.Probabilities();
        Assert.All(next.Weights, w => Assert.True(double.IsFinite(w) && w < 1e201));
        for (var c = 0; c < 5; c++) Assert.Equal(expected[c] / total, probabilities[c], 14);
    }

    [Fact]
    public void Quote_draws_each_price_with_probability_w_over_sum_and_is_deterministic_per_seed()
    {
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 4 });
        var state = new PricerState(ImmutableArray.Create(1.0, 2.0, 0.0, 4.0, 3.0), 0);
        const int draws = 20000;
        var counts = new int[5];
        for (var seed = 0UL; seed < draws; seed++)
        {
            var q = MultiplicativeWeightsPricer.Quote(state, grid, seed);
            Assert.Equal(grid.Prices[q.Index], q.Price);
            Assert.Equal(q, MultiplicativeWeightsPricer.Quote(state, grid, seed));
            counts[q.Index]++;
        }
        Assert.Equal(0, counts[2]); // zero weight is never drawn
        var chi2 = 0.0;
        foreach (var c in new[] { 0, 1, 3, 4 })
        {
            var expected = draws * state.Weights[c] / 10.0;
            chi2 += (counts[c] - expected) * (counts[c] - expected) / expected;
        }
        // 3 degrees of freedom: P(chi2 > 27.9) = 4e-6.
        Assert.True(chi2 < 27.9, $"chi-square {chi2:F2} for counts {string.Join(",", counts)}");
        // Different seeds do not all give the same price.
        Assert.True(counts.Count(c => c > 0) == 4);
    }

    [Fact]
    public void Quote_rejects_a_state_of_the_wrong_size()
    {
        var grid = PriceGrid.Create(MarketParameters.Default);
        var state = PricerState.Initial(PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 4 }));
        Assert.Throws<ArgumentException>(() => MultiplicativeWeightsPricer.Quote(state, grid, 1));
    }

    [Fact]
    public void Pricer_state_saved_and_restored_continues_exactly_as_if_never_saved()
    {
        var grid = PriceGrid.Create(MarketParameters.Default);
        var rng = new SeededRandom(404);
        var curves = Enumerable.Range(0, 40).Select(_ => Enumerable.Range(0, grid.Count).Select(_ => 2.2 * rng.NextDouble()).ToArray()).ToArray();

        var straight = PricerState.Initial(grid);
        var restored = PricerState.Initial(grid);
        var straightQuotes = new List<PriceQuote>();
        var restoredQuotes = new List<PriceQuote>();
        for (var n = 0; n < 40; n++)
        {
            straightQuotes.Add(MultiplicativeWeightsPricer.Quote(straight, grid, (ulong)n));
            straight = MultiplicativeWeightsPricer.Update(straight, grid, curves[n]);
            restoredQuotes.Add(MultiplicativeWeightsPricer.Quote(restored, grid, (ulong)n));
            restored = MultiplicativeWeightsPricer.Update(restored, grid, curves[n]);
            if (n % 13 == 5)
            {
                // Save (JSON) and restore into a fresh object.
                var json = JsonSerializer.Serialize(new { Weights = restored.Weights.ToArray(), restored.Updates });
                using var doc = JsonDocument.Parse(json);
                var weights = doc.RootElement.GetProperty("Weights").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var updates = doc.RootElement.GetProperty("Updates").GetInt64();
                restored = new PricerState(ImmutableArray.Create(weights), updates);
            }
        }
        Assert.Equal(straightQuotes, restoredQuotes);
        Assert.Equal(straight.Updates, restored.Updates);
        Assert.Equal(40, straight.Updates);
        Assert.Equal(straight.Weights.Select(BitConverter.DoubleToInt64Bits), restored.Weights.Select(BitConverter.DoubleToInt64Bits));
    }
}
