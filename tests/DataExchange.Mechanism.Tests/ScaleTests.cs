using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// Markets of hundreds of sellers: the blocked kernels and the sellers' cache change no bit; antithetic permutations are
/// unbiased and vary less; the relative target stops where it says.
/// </summary>
public class ScaleTests(ITestOutputHelper output)
{
    private static long[] Bits(IEnumerable<double> values) => values.Select(BitConverter.DoubleToInt64Bits).ToArray();

    /// <summary>
    /// The row-by-row walker the blocked one replaced: forward substitution and the held-out quadratic form one
    /// Kernels.Dot per row, back substitution one scalar loop per column.
    /// </summary>
    private sealed class RowByRowWalker(GainSystem sys)
    {
        private readonly int _m = sys.Sellers;
        private readonly double[] _l = new double[sys.Sellers * sys.Sellers];
        private readonly double[] _inv = new double[sys.Sellers];
        private readonly double[] _qa = new double[sys.Sellers * sys.Sellers];
        private readonly double[] _qva = new double[sys.Sellers];
        private readonly int[] _members = new int[sys.Sellers];
        private readonly double[] _z = new double[sys.Sellers];
        private int _k;

        public bool Push(int j)
        {
            var (k, m) = (_k, _m);
            var aj = sys.TrainGram.AsSpan(j * m, m);
            var newRow = _l.AsSpan(k * m, k + 1);
            var dot = 0.0;
            for (var r = 0; r < k; r++)
            {
                var v = (aj[_members[r]] - Kernels.Dot(_l.AsSpan(r * m, r), newRow)) * _inv[r];
                newRow[r] = v;
                dot += v * v;
            }
            var diag = aj[j] + sys.Alpha;
            var pivot = diag - dot;
            if (!(pivot > 1e-10 * diag)) return false;
            newRow[k] = Math.Sqrt(pivot);
            _inv[k] = 1.0 / newRow[k];
            _z[k] = (sys.TrainTargetProducts[j] - Kernels.Dot(newRow[..k], _z)) * _inv[k];
            for (var c = 0; c < k; c++) _qa[k * m + c] = sys.TestGram[j * m + _members[c]];
            _qa[k * m + k] = sys.TestGram[j * m + j];
            _qva[k] = sys.TestTargetProducts[j];
            _members[k] = j;
            _k = k + 1;
            return true;
        }

        public double Sse()
        {
            var (k, m) = (_k, _m);
            if (k == 0) return sys.EmptySse;
            var tmp = _z[..k];
            var beta = new double[k];
            for (var c = k - 1; c >= 0; c--)
            {
                beta[c] = tmp[c] * _inv[c];
                for (var r = 0; r < c; r++) tmp[r] -= _l[c * m + r] * beta[c];
            }
            var quad = 0.0;
            for (var r = 0; r < k; r++)
                quad += beta[r] * (_qa[r * m + r] * beta[r] + 2.0 * Kernels.Dot(_qa.AsSpan(r * m, r), beta));
            return sys.EmptySse - 2.0 * Kernels.Dot(beta, _qva) + quad;
        }
    }

    /// <summary>
    /// Along random permutations at M = 5, 13, 22 and 41 (none a multiple of 4, so every tail length occurs) and with
    /// OLS (alpha = 0, so dependent features are left out), the walker's held-out error equals the row-by-row one bit
    /// for bit at every step; Symmetric and Dot4 equal Kernels.Dot entry by entry.
    /// Mutations caught (each made in the library, this test run, reverted): LowerRows4 reducing its lanes as
    /// ((e0 + e1) + e2) + e3 instead of Dot's (e0 + e1) + (e2 + e3): fails at every M; Push adding row r + 3's tail
    /// terms in reverse order: fails at M = 13, 22 and 41 (M = 5 has no such row).
    /// </summary>
    [Theory]
    [InlineData(5, 1.0)]
    [InlineData(13, 1.0)]
    [InlineData(22, 0.0)]
    [InlineData(41, 1.0)]
    public void Blocked_kernels_equal_the_row_by_row_walker_bit_for_bit(int m, double alpha)
    {
        var p = MarketParameters.Default with { RidgeAlpha = alpha };
        var scenario = SyntheticMarket.Generate(m, 150, 1, (ulong)m);
        var gains = MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, 77, p);
        foreach (var s in new[] { 0.0, 0.4 })
        {
            var sys = GainSystem.Build(gains.Moments, s, p);
            var rng = new SeededRandom((ulong)(m + 100));
            var order = Enumerable.Range(0, m).ToArray();
            for (var walk = 0; walk < 5; walk++)
            {
                rng.Shuffle(order);
                var blocked = new CoalitionWalker(sys);
                var reference = new RowByRowWalker(sys);
                for (var i = 0; i < m; i++)
                {
                    Assert.Equal(reference.Push(order[i]), blocked.Push(order[i]));
                    Assert.True(BitConverter.DoubleToInt64Bits(reference.Sse()) == BitConverter.DoubleToInt64Bits(blocked.HeldOutSse()),
                        $"M = {m}, s = {s}, walk {walk}, step {i}: {blocked.HeldOutSse():R} against {reference.Sse():R}");
                }
            }
        }
        var rows = Reference.Rows(scenario.Sellers);
        var g = GramBlocks.Symmetric(rows, 3, 101);
        for (var i = 0; i < m; i++)
            for (var j = 0; j <= i; j++)
            {
                var d = Kernels.Dot(rows[i].AsSpan(3, 101), rows[j].AsSpan(3, 101));
                Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(g[i * m + j]));
                Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits(g[j * m + i]));
            }
    }

    /// <summary>
    /// The Gram blocks of a task (X E' + E X', E E', X X') built from 4 x 4 tiles (Kernels.Dot4x4) equal Kernels.Dot of
    /// every pair bit for bit, at M = 8, 13 and 22 (13 and 22 leave rows and columns after the tiles) and train and
    /// held-out lengths whose tails are 1, 2 and 3 steps.
    /// Mutations caught (each made in the library, this test run and watched failing, reverted): Dot4x4 summing its tail
    /// terms first and adding the reduced lanes last: fails at (8, 61) and (13, 234) (a tail of one step cannot show it);
    /// Dot4x4 reducing as ((e0 + e1) + e2) + e3: fails in all three; Symmetric skipping the diagonal tiles (j &lt; i): fails
    /// in all three. Not caught, and harmless: a diagonal tile's upper half written from a wrong entry, because the lower
    /// half's mirrored writes come later and overwrite it.
    /// </summary>
    [Theory]
    [InlineData(13, 234)]
    [InlineData(22, 150)]
    [InlineData(8, 61)]
    public void Tiled_Gram_blocks_equal_Dot_of_every_pair_bit_for_bit(int m, int steps)
    {
        var scenario = SyntheticMarket.Generate(m, steps, 1, (ulong)(m + steps));
        var noise = NoiseMatrix.Draw(m, steps, 5);
        var p = MarketParameters.Default;
        var mo = TaskMoments.Compute(scenario.Sellers, scenario.Buyers[0].Target, noise, p);
        var nTrain = mo.TrainSize;
        var x = Enumerable.Range(0, m).Select(i => TaskMoments.Centre(scenario.Sellers.Row(i), mo.TrainSellerMeans[i])).ToArray();
        var e = Enumerable.Range(0, m).Select(i => TaskMoments.Centre(noise.Row(i), mo.TrainNoiseMeans[i])).ToArray();
        foreach (var (blocks, start, length) in new[] { (mo.Train, 0, nTrain), (mo.Test, nTrain, steps - nTrain) })
            for (var i = 0; i < m; i++)
                for (var j = 0; j < m; j++)
                {
                    double Dot(double[] a, double[] b) => Kernels.Dot(a.AsSpan(start, length), b.AsSpan(start, length));
                    var cross = Dot(x[i], e[j]) + Dot(x[j], e[i]);
                    Assert.True(BitConverter.DoubleToInt64Bits(cross) == BitConverter.DoubleToInt64Bits(blocks.CrossGram[i * m + j]), $"Cross[{i}, {j}]");
                    Assert.True(BitConverter.DoubleToInt64Bits(Dot(e[i], e[j])) == BitConverter.DoubleToInt64Bits(blocks.NoiseGram[i * m + j]), $"Ee[{i}, {j}]");
                    Assert.True(BitConverter.DoubleToInt64Bits(Dot(x[i], x[j])) == BitConverter.DoubleToInt64Bits(blocks.SellerGram[i * m + j]), $"Xx[{i}, {j}]");
                }
    }

    /// <summary>
    /// The sellers' cache (centred series, X X' over each part, PD_B* similarities) gives every moment, every gain and
    /// every Shapley value bit for bit as the uncached path, for several buyers and noise draws on one feature set.
    /// Mutation caught: the cache keyed on nothing (a later train fraction reusing the first one's blocks): fails.
    /// </summary>
    [Fact]
    public void Cached_seller_moments_equal_the_uncached_path_bit_for_bit()
    {
        var scenario = SyntheticMarket.Generate(23, 240, 4, 5);
        foreach (var fraction in new[] { 0.7, 0.6 })
        {
            var p = MarketParameters.Default with { TrainFraction = fraction };
            for (var b = 0; b < scenario.Buyers.Count; b++)
            {
                var noise = NoiseMatrix.Draw(23, 240, (ulong)(b + 9));
                var y = scenario.Buyers[b].Target;
                var cached = TaskMoments.Compute(scenario.Sellers, y, noise, p, useSellerCache: true);
                var plain = TaskMoments.Compute(scenario.Sellers, y, noise, p, useSellerCache: false);
                foreach (var (c, u) in new[] { (cached.Train, plain.Train), (cached.Test, plain.Test) })
                {
                    Assert.Equal(Bits(u.SellerGram), Bits(c.SellerGram));
                    Assert.Equal(Bits(u.CrossGram), Bits(c.CrossGram));
                    Assert.Equal(Bits(u.NoiseGram), Bits(c.NoiseGram));
                    Assert.Equal(Bits(u.SellerTarget), Bits(c.SellerTarget));
                    Assert.Equal(Bits(u.NoiseTarget), Bits(c.NoiseTarget));
                }
                Assert.Equal(Bits(plain.TrainSellerMeans), Bits(cached.TrainSellerMeans));
                Assert.Equal(plain.TestTargetSquares, cached.TestTargetSquares);
                var gc = new TaskGains(cached, p);
                var gu = new TaskGains(plain, p);
                Assert.Equal(Bits(gu.RevenueCurve(PriceGrid.Create(p), 1.2)), Bits(gc.RevenueCurve(PriceGrid.Create(p), 1.2)));
                Assert.Equal(Bits(Shapley.MonteCarlo(gu, 0.3, 20, 4).Values), Bits(Shapley.MonteCarlo(gc, 0.3, 20, 4).Values));
            }
        }
        var sim = RobustShares.Similarity(scenario.Sellers);
        var cachedSim = scenario.Sellers.Similarity();
        Assert.Equal(Bits(sim.Cast<double>()), Bits(cachedSim.Cast<double>()));
    }

    /// <summary>
    /// Antithetic pairs are unbiased: at M = 6 over 1,000 seeds with K = 8 (4 pairs) the mean estimate of every seller is
    /// within 4.5 standard errors (of that mean, from the spread over seeds) of exact Shapley, on a plain task and on a
    /// replica task; and at equal K the mean squared error against exact is below that of independent permutations.
    /// Mutations caught (each made in the library, this test run, reverted): pairs drawn from a shuffle of only the first
    /// two positions (not uniform, still whole permutations, so the sum holds): the mean is far off exact, fails; the
    /// reverse walk crediting each marginal to the next seller of the order: fails (the sum check); pairing each
    /// permutation with itself instead of its reverse: still unbiased, but its MSE is 1.99 times the independent one
    /// on the plain task, and the MSE assert fails.
    /// </summary>
    [Fact]
    public void Antithetic_pairs_are_unbiased_and_vary_less_than_independent_permutations()
    {
        const int m = 6;
        const int seeds = 1000;
        foreach (var (task, gains) in new[]
                 {
                     ("plain", MarketTask.Gains(SyntheticMarket.Generate(m, 160, 1, 3).Sellers, SyntheticMarket.Generate(m, 160, 1, 3).Buyers[0].Target, 5, MarketParameters.Default)),
                     ("replica", ShapleyTests.ReplicaTask(m, 160, 8)),
                 })
        {
            var exact = Shapley.Exact(gains, 0.0).Values;
            var sum = new double[m];
            var sumSq = new double[m];
            double mseAnti = 0, mseIndependent = 0;
            for (var seed = 0; seed < seeds; seed++)
            {
                var a = Shapley.MonteCarlo(gains, 0.0, 8, (ulong)seed, antithetic: true);
                Assert.Equal(8, a.Permutations);
                var ind = Shapley.MonteCarlo(gains, 0.0, 8, (ulong)seed);
                for (var j = 0; j < m; j++)
                {
                    sum[j] += a.Values[j];
                    sumSq[j] += a.Values[j] * a.Values[j];
                    mseAnti += (a.Values[j] - exact[j]) * (a.Values[j] - exact[j]);
                    mseIndependent += (ind.Values[j] - exact[j]) * (ind.Values[j] - exact[j]);
                }
                // every pair is two whole permutations: the estimate still sums to G(all) - G(empty)
                Assert.True(Math.Abs(a.Values.Sum() - exact.Sum()) < 1e-12);
            }
            var worst = 0.0;
            for (var j = 0; j < m; j++)
            {
                var mean = sum[j] / seeds;
                var sd = Math.Sqrt(Math.Max(0, sumSq[j] / seeds - mean * mean));
                var z = Math.Abs(mean - exact[j]) / Math.Max(sd / Math.Sqrt(seeds), 1e-15);
                worst = Math.Max(worst, z);
            }
            output.WriteLine($"{task}: worst |mean - exact| = {worst:F2} standard errors; MSE antithetic {mseAnti / seeds:E3}, independent {mseIndependent / seeds:E3} (ratio {mseAnti / mseIndependent:F3})");
            Assert.True(worst < 4.5, $"{task}: a mean estimate is {worst:F1} standard errors from exact Shapley");
            Assert.True(mseAnti < mseIndependent, $"{task}: antithetic MSE {mseAnti} not below independent {mseIndependent}");
        }
    }

    /// <summary>
    /// The stopping rules count a pair as one sample: with antithetic pairs, UntilAccurate keeps its promise (at most
    /// delta of 300 runs at M = 8 end more than eps from exact) and UntilRelative's reported standard errors match the
    /// spread of its estimates over seeds; antithetic needs fewer permutations than independent walks for the same target.
    /// Measured: 0 of 300 above eps; worst RMS error 1.06 times the target; 251 permutations antithetic, 1001 independent.
    /// Mutation caught: the relative rule stopping on sqrt(V / (2n)) (counting permutations, not pairs, as samples):
    /// it stops at half the permutations and the worst RMS error is 1.64 times the target, above the 1.5 allowed.
    /// </summary>
    [Fact]
    public void Stopping_rules_with_antithetic_pairs_hold_and_use_fewer_permutations()
    {
        const int m = 8;
        var accuracy = new ShapleyAccuracy(0.1, 0.1);
        var failures = 0;
        var runs = 0;
        long permsAnti = 0, permsIndependent = 0;
        for (var t = 0; t < 30; t++)
        {
            var gains = t % 2 == 1 ? ShapleyTests.ReplicaTask(m, 160, (ulong)(40_000 + t))
                : MarketTask.Gains(SyntheticMarket.Generate(m, 160, 1, (ulong)(40_000 + t)).Sellers,
                    SyntheticMarket.Generate(m, 160, 1, (ulong)(40_000 + t)).Buyers[0].Target, (ulong)t, MarketParameters.Default);
            var exact = Shapley.Exact(gains, 0.0).Values;
            for (var seed = 0; seed < 10; seed++)
            {
                var e = Shapley.UntilAccurate(gains, 0.0, accuracy, (ulong)(100 * t + seed), antithetic: true);
                runs++;
                if (exact.Zip(e.Values, (x, y) => Math.Abs(x - y)).Max() > accuracy.Epsilon) failures++;
            }
        }
        Assert.True(failures <= accuracy.Delta * runs, $"{failures} of {runs} antithetic runs above eps");

        // UntilRelative: the spread over seeds of each seller's estimate against the target r / M of the total
        const double r = 0.1;
        var task = MarketTask.Gains(SyntheticMarket.Generate(m, 200, 1, 11).Sellers, SyntheticMarket.Generate(m, 200, 1, 11).Buyers[0].Target, 3, MarketParameters.Default);
        var exactValues = Shapley.Exact(task, 0.0).Values;
        var total = Math.Max(Math.Abs(exactValues.Sum()), Shapley.RelativeMinTotal);
        var target = r * total / m;
        var sq = new double[m];
        const int seedsRelative = 200;
        for (var seed = 0; seed < seedsRelative; seed++)
        {
            var anti = Shapley.UntilRelative(task, 0.0, r, (ulong)seed, antithetic: true);
            var ind = Shapley.UntilRelative(task, 0.0, r, (ulong)seed);
            permsAnti += anti.Permutations;
            permsIndependent += ind.Permutations;
            for (var j = 0; j < m; j++) sq[j] += (anti.Values[j] - exactValues[j]) * (anti.Values[j] - exactValues[j]);
        }
        var rms = sq.Select(v => Math.Sqrt(v / seedsRelative)).Max();
        output.WriteLine($"antithetic UntilAccurate: {failures} of {runs} above eps; UntilRelative r = {r}: worst RMS error {rms:E3} against target {target:E3} (ratio {rms / target:F2}); mean permutations antithetic {permsAnti / seedsRelative}, independent {permsIndependent / seedsRelative}");
        Assert.True(rms <= 1.5 * target, $"worst RMS error {rms} is more than 1.5 times the target standard error {target}");
        Assert.True(permsAnti < permsIndependent, $"antithetic used {permsAnti} permutations, independent {permsIndependent}");
    }

    [Fact]
    public void Relative_target_is_validated_and_exclusive_with_an_absolute_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { ShapleyRelativeError = 0 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { ShapleyRelativeError = 1.5 }).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            (MarketParameters.Default with { ShapleyRelativeError = 0.05, ShapleyTarget = new ShapleyAccuracy(0.1, 0.1) }).Validate());
        (MarketParameters.Default with { ShapleyRelativeError = 0.05, ShapleyAntithetic = true }).Validate();
    }
}
