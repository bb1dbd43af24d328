namespace DataExchange.Mechanism.Tests;

/// <summary>
/// The Gram-matrix path (TaskMoments, GainSystem, CoalitionWalker) against a direct fit on materialised features:
/// standardise with training mean and population std, ridge by QR on the augmented system, OLS by SVD min-norm.
/// </summary>
public class GramFitTests
{
    private const double Tolerance = 1e-9;

    [Fact]
    public void Ridge_gains_of_random_coalitions_equal_a_direct_least_squares_fit()
    {
        var rng = new SeededRandom(20251125);
        var compared = 0;
        for (var trial = 0; trial < 30; trial++)
        {
            var m = 1 + rng.Next(8);
            var steps = 60 + rng.Next(141);
            var (sellers, y) = Reference.RandomTask(rng, m, steps);
            var noise = NoiseMatrix.Draw(m, steps, rng.NextUInt64());
            var alpha = trial % 3 == 0 ? 1.0 : 0.05 + 4 * rng.NextDouble();
            var s = trial % 4 == 0 ? 0.0 : 2.5 * rng.NextDouble();
            foreach (var kind in new[] { GainKind.NormalisedRmse, GainKind.RSquared })
            {
                var p = MarketParameters.Default with { RidgeAlpha = alpha, Gain = kind };
                var moments = TaskMoments.Compute(sellers, y, noise, p);
                var nTrain = TaskMoments.TrainLength(steps, p.TrainFraction);
                Assert.Equal(nTrain, moments.TrainSize);
                Assert.Equal(steps - nTrain, moments.TestSize);
                var allocated = Allocation.Allocate(sellers, noise, s);
                var system = GainSystem.Build(moments, s, p);

                var coalitions = new List<int[]> { Array.Empty<int>(), Enumerable.Range(0, m).ToArray() };
                for (var c = 0; c < 6; c++) coalitions.Add(Reference.Members(rng.Next(1 << m), m));
                foreach (var coalition in coalitions)
                {
                    // push in a random order: the fit must not depend on it
                    var order = coalition.ToArray();
                    rng.Shuffle(order);
                    var walker = new CoalitionWalker(system);
                    foreach (var j in order) Assert.True(walker.Push(j));
                    var actual = walker.Gain();
                    var expected = Reference.CoalitionGain(allocated, coalition, y, nTrain, p);
                    Assert.False(double.IsNaN(actual));
                    Assert.True(Math.Abs(expected - actual) <= Tolerance,
                        $"trial {trial} M={m} T={steps} s={s} alpha={alpha} {kind} S=[{string.Join(",", coalition)}]: expected {expected}, got {actual}");
                    compared++;
                }
                // all sellers through the public API
                var gains = new TaskGains(moments, p);
                var full = Reference.CoalitionGain(allocated, Enumerable.Range(0, m).ToArray(), y, nTrain, p);
                Assert.True(Math.Abs(full - gains.GainAtNoise(s)) <= Tolerance, $"GainAtNoise trial {trial}: {full} vs {gains.GainAtNoise(s)}");
            }
        }
        Assert.True(compared >= 400);
    }

    [Fact]
    public void Walker_pop_restores_the_previous_coalition()
    {
        var rng = new SeededRandom(5);
        var (sellers, y) = Reference.RandomTask(rng, 6, 120);
        var noise = NoiseMatrix.Draw(6, 120, 6);
        var p = MarketParameters.Default;
        var system = GainSystem.Build(TaskMoments.Compute(sellers, y, noise, p), 0.4, p);
        var walker = new CoalitionWalker(system);
        walker.Push(2);
        walker.Push(0);
        var before = walker.Gain();
        walker.Push(5);
        walker.Pop();
        Assert.Equal(before, walker.Gain(), 14);
        walker.Reset();
        Assert.Equal(Reference.WalkerGain(system, []), walker.Gain());
        walker.Push(4);
        Assert.Equal(Reference.WalkerGain(system, [4]), walker.Gain(), 14);
    }

    [Fact]
    public void Predictions_equal_direct_predictions_for_ridge_and_ols()
    {
        var rng = new SeededRandom(99);
        for (var trial = 0; trial < 12; trial++)
        {
            var m = 1 + rng.Next(8);
            var steps = 60 + rng.Next(141);
            var (sellers, y) = Reference.RandomTask(rng, m, steps);
            var noise = NoiseMatrix.Draw(m, steps, (ulong)trial);
            var p = MarketParameters.Default with { RidgeAlpha = trial % 2 == 0 ? 1.0 : 0.0 };
            var gains = Reference.Gains(sellers, y, noise, p);
            var nTrain = TaskMoments.TrainLength(steps, p.TrainFraction);
            var price = 2.0 * rng.NextDouble();
            var bid = 0.2 + 1.5 * rng.NextDouble();
            // the delivered copy: AF*'s, or a noisier one when that scores better (the ironed allocation)
            var s = gains.AllocatedNoise(price, bid);
            Assert.True(s >= Allocation.NoiseScale(price, bid, p.NoiseSigma), $"trial {trial}: delivered noise {s} below AF*'s");
            var expected = Reference.Predict(Allocation.Allocate(sellers, noise, s), Enumerable.Range(0, m).ToArray(), y, nTrain, p.RidgeAlpha);
            var actual = gains.Predictions(sellers, noise, price, bid);
            Assert.Equal(expected.Length, actual.Length);
            var scale = 1 + y.Max(Math.Abs);
            for (var t = 0; t < actual.Length; t++)
                Assert.True(Math.Abs(expected[t] - actual[t]) <= Tolerance * scale,
                    $"trial {trial} t={t}: expected {expected[t]}, got {actual[t]}");
            // and the gain of those predictions is the task's G(p, b)
            Assert.Equal(Reference.Gain(y.AsSpan(nTrain), actual, p.Gain), gains.Gain(price, bid), 9);
        }
    }

    /// <summary>
    /// Rows 0..4 independent; row 5 duplicates row 1; row 6 = row 0 + row 2 exactly; row 7 constant.
    /// Every dependency holds on the whole series, so the held-out predictions of OLS are unique.
    /// </summary>
    private static (FeatureSet Sellers, double[] Y) RankDeficientTask(ulong seed, int steps)
    {
        var rng = new SeededRandom(seed);
        var (basis, y) = Reference.RandomTask(rng, 5, steps);
        var rows = Reference.Rows(basis).ToList();
        rows.Add((double[])rows[1].Clone());
        // values chosen so the sum is exact in floating point: round both to multiples of 2^-20
        for (var t = 0; t < steps; t++)
        {
            rows[0][t] = Math.Round(rows[0][t] * 1048576) / 1048576;
            rows[2][t] = Math.Round(rows[2][t] * 1048576) / 1048576;
        }
        rows.Add(rows[0].Zip(rows[2], (a, b) => a + b).ToArray());
        rows.Add(Enumerable.Repeat(3.7, steps).ToArray());
        return (Reference.Sellers(rows.ToArray()), y);
    }

    [Fact]
    public void Ols_with_duplicated_combined_and_constant_rows_matches_svd_min_norm()
    {
        for (var trial = 0; trial < 6; trial++)
        {
            var steps = 80 + 20 * trial;
            var (sellers, y) = RankDeficientTask((ulong)(300 + trial), steps);
            var m = sellers.Sellers;
            var noise = NoiseMatrix.Draw(m, steps, 17);
            var p = MarketParameters.Default with { RidgeAlpha = 0.0 };
            var gains = Reference.Gains(sellers, y, noise, p);
            var nTrain = TaskMoments.TrainLength(steps, p.TrainFraction);
            var rows = Reference.Rows(sellers);
            var all = Enumerable.Range(0, m).ToArray();

            // held-out predictions of the full set (bid >= price, and here the exact copy scores best: the features
            // exactly, so the dependencies hold)
            Assert.Equal(0.0, gains.AllocatedNoise(1.0, 1.5));
            var expected = Reference.Predict(rows, all, y, nTrain, 0.0);
            var actual = gains.Predictions(sellers, noise, 1.0, 1.5);
            var scale = 1 + y.Max(Math.Abs);
            for (var t = 0; t < actual.Length; t++)
            {
                Assert.False(double.IsNaN(actual[t]));
                Assert.True(Math.Abs(expected[t] - actual[t]) <= 1e-8 * scale, $"trial {trial} t={t}: expected {expected[t]}, got {actual[t]}");
            }
            Assert.Equal(Reference.Gain(y.AsSpan(nTrain), expected, p.Gain), gains.GainAtNoise(0.0), 9);

            // every coalition containing a dependency, in both push orders
            var system = GainSystem.Build(gains.Moments, 0.0, p);
            int[][] coalitions = [[1, 5], [5, 1], [0, 2, 6], [6, 0, 2], [2, 6, 0], [7], [7, 3], [0, 1, 2, 5, 6, 7], [6, 5, 7, 4, 3, 2, 1, 0], all];
            foreach (var coalition in coalitions)
            {
                var walker = new CoalitionWalker(system);
                foreach (var j in coalition) walker.Push(j);
                var g = walker.Gain();
                var reference = Reference.CoalitionGain(rows, coalition.Order().ToArray(), y, nTrain, p);
                Assert.False(double.IsNaN(g));
                Assert.True(Math.Abs(reference - g) <= 1e-8, $"trial {trial} S=[{string.Join(",", coalition)}]: expected {reference}, got {g}");
            }

            // with noise the rows are no longer dependent: still equal to the reference fit
            var s = 0.3;
            var allocated = Allocation.Allocate(sellers, noise, s);
            var noisy = Reference.CoalitionGain(allocated, all.Where(j => j != 7).ToArray(), y, nTrain, p);
            Assert.True(Math.Abs(noisy - Reference.WalkerGain(GainSystem.Build(gains.Moments, s, p), all.Where(j => j != 7).ToArray())) <= 1e-8);
        }
    }

    [Fact]
    public void Ridge_with_duplicated_combined_and_constant_rows_matches_qr()
    {
        var (sellers, y) = RankDeficientTask(77, 150);
        var m = sellers.Sellers;
        var noise = NoiseMatrix.Draw(m, 150, 18);
        var p = MarketParameters.Default;
        var gains = Reference.Gains(sellers, y, noise, p);
        var nTrain = TaskMoments.TrainLength(150, p.TrainFraction);
        var all = Enumerable.Range(0, m).ToArray();
        foreach (var s in new[] { 0.0, 0.8 })
        {
            var expected = Reference.CoalitionGain(Allocation.Allocate(sellers, noise, s), all, y, nTrain, p);
            Assert.Equal(expected, gains.GainAtNoise(s), 9);
        }
        var predicted = gains.Predictions(sellers, noise, 0.5, 0.5);
        var direct = Reference.Predict(Allocation.Allocate(sellers, noise, gains.AllocatedNoise(0.5, 0.5)), all, y, nTrain, 1.0);
        for (var t = 0; t < direct.Length; t++) Assert.Equal(direct[t], predicted[t], 8);
    }
}
