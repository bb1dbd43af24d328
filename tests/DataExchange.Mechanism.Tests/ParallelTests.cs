namespace DataExchange.Mechanism.Tests;

/// <summary>
/// MarketParameters.Parallelism changes no number: at M above ParallelWork.MinSellers the noise draw, the Gram blocks,
/// RF*'s levels and the Shapley walks run on several threads, and every result is the sequential path's, bit for bit,
/// at 1, 2, 3 and 5 threads (a recorded task must replay bit for bit on any machine, whatever its cores).
/// Mutation watched failing: PermutationSampler adding the walks' slots to the running means in the order the walks
/// finished (an Interlocked counter per finished walk) instead of walk order: 11 of the 16 tests here failed (the Shapley
/// values, and so the stopping rules and the whole outcomes, differed in their last bits; every setting of the market test). Before the
/// constructor below reserved spare pool threads, all passed under that mutation: the workers never started and the
/// caller's thread walked everything in order, hence the check that the walks did run on several threads. The same
/// mutation in StratifiedSampler.Run (a batch's walks added in finishing order): Stratified_values_do_not_depend... failed
/// (one value differed in its last bit); the market and stopping-rule tests did not catch it there (the stratified
/// walks are short, and a seller's samples are a cycle apart, so they rarely finish out of order without the pauses).
/// A review found that test catching it in only 1 of 4 runs; Stratified_runs_are_the_one_cycle_at_a_time_runs (M = 10,
/// many cycles a batch) caught it in 4 of 4.
/// </summary>
public class ParallelTests
{
    // Just above the threshold, not a multiple of 4 (so the Gram blocks' leftover rows run too), and an odd series length
    // (the noise draw's last value of each row comes from its own pair of uniforms).
    private const int Sellers = MarketParameters.ParallelMinSellers + 2;
    private const int Steps = 201;
    private static readonly int[] ThreadCounts = [2, 3, 5];

    private static long[] Bits(IEnumerable<double> values) => values.Select(BitConverter.DoubleToInt64Bits).ToArray();

    private static MarketParameters At(MarketParameters p, int threads) => p with { Parallelism = threads };

    [Fact]
    public void The_threshold_lies_below_the_sellers_here_so_the_parallel_path_is_what_is_tested()
    {
        Assert.True(Sellers >= MarketParameters.ParallelMinSellers);
        Assert.Equal(1, ParallelWork.Threads(MarketParameters.Default with { Parallelism = 4 }, MarketParameters.ParallelMinSellers - 1));
        Assert.Equal(4, ParallelWork.Threads(MarketParameters.Default with { Parallelism = 4 }, Sellers));
        Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { Parallelism = 0 }).Validate());
    }

    [Theory]
    [InlineData(201)]
    [InlineData(400)]
    public void The_noise_draw_is_the_sequential_draw(int steps)
    {
        var one = NoiseMatrix.Draw(Sellers, steps, 77);
        foreach (var threads in ThreadCounts)
        {
            var many = NoiseMatrix.Draw(Sellers, steps, 77, threads);
            for (var m = 0; m < Sellers; m++) Assert.Equal(Bits(one.Row(m).ToArray()), Bits(many.Row(m).ToArray()));
        }
        // And the stream is SeededRandom's one stream of normals, row after row.
        var rng = new SeededRandom(77);
        for (var m = 0; m < Sellers; m++)
        {
            var row = new double[steps];
            rng.FillStandardNormal(row);
            Assert.Equal(Bits(row), Bits(one.Row(m).ToArray()));
        }
    }

    [Fact]
    public void Gram_blocks_similarities_and_the_revenue_curve_are_the_same_bits()
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 1, 31);
        var y = scenario.Buyers[0].Target;
        var p = MarketParameters.Default;
        var grid = PriceGrid.Create(p);
        var one = MarketTask.Gains(scenario.Sellers, y, 9, At(p, 1));
        var curve = one.RevenueCurve(grid, 1.3);
        foreach (var threads in ThreadCounts)
        {
            var many = MarketTask.Gains(scenario.Sellers, y, 9, At(p, threads));
            foreach (var (a, b) in new[] { (one.Moments.Train, many.Moments.Train), (one.Moments.Test, many.Moments.Test) })
            {
                Assert.Equal(Bits(a.CrossGram), Bits(b.CrossGram));
                Assert.Equal(Bits(a.NoiseGram), Bits(b.NoiseGram));
                Assert.Equal(Bits(a.SellerTarget), Bits(b.SellerTarget));
                Assert.Equal(Bits(a.NoiseTarget), Bits(b.NoiseTarget));
            }
            Assert.Equal(Bits(one.Moments.TrainNoiseMeans), Bits(many.Moments.TrainNoiseMeans));
            // the parts a market computes once (cached in the FeatureSet, so computed afresh here)
            var ownOne = SellerMoments.Compute(scenario.Sellers, one.Moments.TrainSize, 1);
            var ownMany = SellerMoments.Compute(scenario.Sellers, one.Moments.TrainSize, threads);
            Assert.Equal(Bits(ownOne.TrainGram), Bits(ownMany.TrainGram));
            Assert.Equal(Bits(ownOne.TestGram), Bits(ownMany.TestGram));
            foreach (var tau in new[] { 0.0, 0.9 })
                Assert.Equal(Bits(RobustShares.Similarity(scenario.Sellers, tau).Cast<double>()),
                    Bits(RobustShares.Similarity(scenario.Sellers, tau, SimilarityKind.Cosine, threads).Cast<double>()));
            Assert.Equal(Bits(curve), Bits(many.RevenueCurve(grid, 1.3)));
            // the levels computed ahead are the ones a single question computes alone
            Assert.Equal(BitConverter.DoubleToInt64Bits(one.GainAtNoise(0.37)), BitConverter.DoubleToInt64Bits(many.GainAtNoise(0.37)));
            Assert.Equal(BitConverter.DoubleToInt64Bits(one.Gain(1.1, 0.6)), BitConverter.DoubleToInt64Bits(many.Gain(1.1, 0.6)));
        }
    }

    [Theory]
    [InlineData(false, 200)]
    [InlineData(true, 200)]
    [InlineData(false, 1)]
    [InlineData(true, 131)]
    public void Shapley_values_are_the_same_bits_at_any_thread_count(bool antithetic, int permutations)
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 1, 32);
        var y = scenario.Buyers[0].Target;
        var p = MarketParameters.Default;
        var one = Shapley.MonteCarlo(MarketTask.Gains(scenario.Sellers, y, 5, At(p, 1)), 0.3, permutations, 11, antithetic);
        foreach (var threads in ThreadCounts)
        {
            var many = Shapley.MonteCarlo(MarketTask.Gains(scenario.Sellers, y, 5, At(p, threads)), 0.3, permutations, 11, antithetic);
            Assert.Equal(one.Permutations, many.Permutations);
            Assert.Equal(Bits(one.Values), Bits(many.Values));
        }
    }

    /// <summary>
    /// A game whose walks start after a pause that varies from walk to walk, so the walks of a batch finish out of order
    /// on several threads whatever the machine's load: what makes an estimator that depends on the finishing order fail
    /// here every time, not only when the scheduler happens to reorder.
    /// </summary>
    private sealed class UnevenGame(ICoalitionGame inner, HashSet<int> threads, int every = 1) : ICoalitionGame
    {
        private static int _walks;
        public int Sellers => inner.Sellers;
        public double EmptyGain => inner.EmptyGain;
        public double Join(int j, double previous) => inner.Join(j, previous);
        public ICoalitionGame Fork() => new UnevenGame(inner.Fork(), threads, every);

        public void Reset()
        {
            lock (threads) threads.Add(Environment.CurrentManagedThreadId);
            var n = Interlocked.Increment(ref _walks);
            // 0 to 3 ms before one walk in `every` (short walks, as the stratified sampler's, need only a few long pauses)
            if (n % every == 0) Thread.Sleep(1 + (int)((uint)(n * 2654435761u) >> 30));
            inner.Reset();
        }
    }

    public ParallelTests()
    {
        // The test runner keeps thread-pool threads busy; without spare ones a task's workers would start only after the
        // pool grows (the caller's thread then does all the work, correctly but untested in parallel).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Shapley_values_do_not_depend_on_the_order_the_walks_finish_in(bool antithetic)
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 1, 35);
        var gains = MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, 7, MarketParameters.Default with { Parallelism = 1 });
        var one = Shapley.MonteCarloOf(gains.Game(0.3), 70, 13, antithetic, threads: 1);
        foreach (var threads in ThreadCounts)
        {
            var ran = new HashSet<int>();
            var many = Shapley.MonteCarloOf(new UnevenGame(gains.Game(0.3), ran), 70, 13, antithetic, threads);
            Assert.True(ran.Count >= 2, $"the walks ran on {ran.Count} thread(s): nothing here was tested in parallel");
            Assert.Equal(Bits(one.Values), Bits(many.Values));
        }
    }

    [Fact]
    public void Stratified_values_do_not_depend_on_the_order_the_walks_finish_in()
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 1, 36);
        var gains = MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, 8, MarketParameters.Default with { Parallelism = 1 });
        var one = Shapley.UntilRelativeStratifiedOf(gains.Game(0.3), 0.004, 14, threads: 1);
        var ran = new HashSet<int>();
        var many = Shapley.UntilRelativeStratifiedOf(new UnevenGame(gains.Game(0.3), ran, every: 50), 0.004, 14, threads: 3);
        Assert.True(ran.Count >= 2, $"the walks ran on {ran.Count} thread(s): nothing here was tested in parallel");
        Assert.Equal((one.Permutations, one.Work), (many.Permutations, many.Work));
        Assert.Equal(Bits(one.Values), Bits(many.Values));
    }

    /// <summary>
    /// A body that throws fails the call with its own exception (as the one-thread loop does, not wrapped in an
    /// AggregateException), no further indices are handed out, and no worker is still running when the call returns
    /// (it would go on writing the caller's buffers). Worker 0 is the caller's thread, the others pool threads: both fail.
    /// Mutation watched failing: ParallelWork.For as merged (no catch; Task.WaitAll after worker 0): a pool worker's
    /// failure came out as AggregateException, and worker 0's returned while the pool workers went on through every index.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_failing_body_fails_the_call_with_its_exception_after_every_worker_stopped(int failingWorker)
    {
        const int count = 400;
        var calls = 0;
        var callsAfterReturn = 0;
        var returned = 0;
        var workers = new HashSet<int>();
        var failure = Assert.Throws<InvalidOperationException>(() => ParallelWork.For(count, 3, (i, worker) =>
        {
            Interlocked.Increment(ref calls);
            if (Volatile.Read(ref returned) == 1) Interlocked.Increment(ref callsAfterReturn);
            int running;
            lock (workers)
            {
                workers.Add(worker);
                running = workers.Count;
            }
            // fail only once another worker has come in too, so both cases are the parallel path
            if (worker == failingWorker && running >= 2 && i >= 3) throw new InvalidOperationException($"walk {i} failed");
            Thread.Sleep(2);
        }));
        Volatile.Write(ref returned, 1);
        var seen = Volatile.Read(ref calls);
        Thread.Sleep(100);
        Assert.StartsWith("walk ", failure.Message);
        Assert.True(workers.Count >= 2, $"the body ran on {workers.Count} worker(s): nothing here was tested in parallel");
        Assert.Equal(0, callsAfterReturn);
        Assert.Equal(seen, Volatile.Read(ref calls));
        Assert.True(seen < count, $"all {count} indices ran after the failure");
    }

    private static ICoalitionGame SmallGame(int sellers, ulong seed)
    {
        var scenario = SyntheticMarket.Generate(sellers, 101, 1, seed);
        return MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, 3, MarketParameters.Default).Game(0.3);
    }

    /// <summary>
    /// More walks than one batch of drawn permutations holds (600: three batches, the last one short) give the values of
    /// the plain sequential estimator written out here (one shuffle of the previous order per walk, Welford's running
    /// mean), bit for bit, at 1 and 3 threads; antithetic pairs the same as one pair per call.
    /// Mutation watched failing: PermutationSampler.Walk's batch size without "- done" (Math.Min(Batch, count)), so
    /// 600 walks ran as 768; the other tests here passed (K &lt;= 256 and the stopping rules' steps fit in one batch).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Walks_beyond_one_batch_are_the_one_at_a_time_walks(int threads)
    {
        const int sellers = 9;
        const int walks = 600;
        var game = SmallGame(sellers, 41);
        var rng = new SeededRandom(17);
        var order = Enumerable.Range(0, sellers).ToArray();
        var mean = new double[sellers];
        var reference = game.Fork();
        for (var k = 1; k <= walks; k++)
        {
            rng.Shuffle(order);
            reference.Reset();
            var previous = reference.EmptyGain;
            foreach (var j in order)
            {
                var gain = reference.Join(j, previous);
                mean[j] += (gain - previous - mean[j]) / k;
                previous = gain;
            }
        }
        var batched = new PermutationSampler(game, 17, threads: threads);
        batched.Walk(walks);
        Assert.Equal(walks, batched.Permutations);
        Assert.Equal(Bits(mean), Bits(batched.Means()));

        var pairs = new PermutationSampler(game.Fork(), 18, antithetic: true, threads: threads);
        pairs.Walk(walks);
        var onePairAtATime = new PermutationSampler(game.Fork(), 18, antithetic: true);
        for (var k = 0; k < walks; k++) onePairAtATime.Walk();
        Assert.Equal(onePairAtATime.Permutations, pairs.Permutations);
        Assert.Equal(Bits(onePairAtATime.Means()), Bits(pairs.Means()));
        for (var j = 0; j < sellers; j++) Assert.Equal(onePairAtATime.Variance(j), pairs.Variance(j));
    }

    /// <summary>
    /// StratifiedSampler.Run (a band's cycles drawn ahead in batches, its budget checked ahead) against one cycle at a
    /// time with the budget checked before each, as StratifiedShapley ran them before: the same cycles, walks, work and
    /// values, bit for bit, at 1 and 3 threads, with a budget that stops a band in mid-run, a second run that starts where
    /// the first stopped, and more walks than one batch (4,096) holds; on several threads the walks finish out of order.
    /// Mutations watched failing: Run's look-ahead starting its work from 0 instead of Work (so a later run overspends);
    /// a batch's walks added in the order they finished instead of walk order.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Stratified_runs_are_the_one_cycle_at_a_time_runs(int threads)
    {
        const int sellers = 10;
        var game = SmallGame(sellers, 42);
        var ran = new HashSet<int>();
        var batched = new StratifiedSampler(threads > 1 ? new UnevenGame(game.Fork(), ran, every: 40) : game.Fork(), new SeededRandom(19), threads);
        var oneByOne = new StratifiedSampler(game.Fork(), new SeededRandom(19));
        const double spent = 1000.0;
        // a budget that runs out in mid-run in the second round
        var budget = spent + 60 * batched.CycleCost(0) + 2500 * Enumerable.Range(1, batched.Bands - 1).Sum(batched.CycleCost);
        foreach (var cycles in new[] { 40, 5000 })
            for (var b = 0; b < batched.Bands; b++)
            {
                batched.Run(b, cycles, spent, budget);
                while (oneByOne.Cycles[b] < cycles && spent + oneByOne.Work < budget) oneByOne.Cycle(b);
            }
        Assert.True(spent + oneByOne.Work >= budget, "the budget never bound: nothing here checks the look-ahead");
        Assert.True(oneByOne.Walks > 4096, "fewer walks than one batch");
        if (threads > 1) Assert.True(ran.Count >= 2, $"the walks ran on {ran.Count} thread(s): nothing here was tested in parallel");
        Assert.Equal(oneByOne.Cycles, batched.Cycles);
        Assert.Equal((oneByOne.Walks, oneByOne.Work), (batched.Walks, batched.Work));
        Assert.Equal(Bits(oneByOne.Estimate()), Bits(batched.Estimate()));
        Assert.Equal(Bits(Enumerable.Range(0, sellers).Select(oneByOne.EstimateVariance)),
            Bits(Enumerable.Range(0, sellers).Select(batched.EstimateVariance)));
    }

    [Fact]
    public void Stopping_rules_stop_at_the_same_sample_with_the_same_values()
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 1, 33);
        var y = scenario.Buyers[0].Target;
        var p = MarketParameters.Default;
        var g1 = MarketTask.Gains(scenario.Sellers, y, 6, At(p, 1));
        var relative = Shapley.UntilRelative(g1, 0.2, 0.5, 12, antithetic: true);
        var accurate = Shapley.UntilAccurate(g1, 0.2, new ShapleyAccuracy(0.3, 0.2), 12);
        var interventional = InterventionalShapley.MonteCarlo(g1, 0.2, 150, 12);
        var stratified = Shapley.UntilRelativeStratified(g1, 0.2, 0.3, 12);
        Assert.True(relative.Permutations > 2 * Shapley.RelativeMinSamples, "the relative rule stopped after its first check: it tests no batch boundary");
        foreach (var threads in ThreadCounts)
        {
            var g = MarketTask.Gains(scenario.Sellers, y, 6, At(p, threads));
            var r = Shapley.UntilRelative(g, 0.2, 0.5, 12, antithetic: true);
            Assert.Equal(relative.Permutations, r.Permutations);
            Assert.Equal(Bits(relative.Values), Bits(r.Values));
            var a = Shapley.UntilAccurate(g, 0.2, new ShapleyAccuracy(0.3, 0.2), 12);
            Assert.Equal(accurate.Permutations, a.Permutations);
            Assert.Equal(Bits(accurate.Values), Bits(a.Values));
            Assert.Equal(Bits(interventional.Values), Bits(InterventionalShapley.MonteCarlo(g, 0.2, 150, 12).Values));
            var st = Shapley.UntilRelativeStratified(g, 0.2, 0.3, 12);
            Assert.Equal((stratified.Permutations, stratified.Work), (st.Permutations, st.Work));
            Assert.Equal(Bits(stratified.Values), Bits(st.Values));
        }
    }

    public static TheoryData<string> Settings => ["k200", "antithetic", "relative", "stratified", "interventional", "classification"];

    private static MarketParameters Setting(string name) => name switch
    {
        "k200" => MarketParameters.Default,
        "antithetic" => MarketParameters.Default with { ShapleyAntithetic = true, ShapleyPermutations = 101 },
        "relative" => MarketParameters.Default with { ShapleyRelativeError = 0.5, ShapleyAntithetic = true },
        "stratified" => MarketParameters.Default with { ShapleyRelativeError = 0.3, ShapleyStratified = true },
        "interventional" => MarketParameters.Default with { PayoutRule = PayoutRule.Interventional, ShapleyPermutations = 64 },
        "classification" => MarketParameters.Default with { TaskKind = TaskKind.Classification, ShapleyPermutations = 40 },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such setting"),
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Whole_outcomes_of_a_market_are_the_same_bits_at_any_thread_count(string setting)
    {
        var scenario = SyntheticMarket.Generate(Sellers, Steps, 2, 34);
        if (setting == "classification") scenario = SyntheticMarket.WithClassLabels(scenario, 3);
        var p = Setting(setting);
        var (outcomes, state) = DeterminismTests.RunMarket(scenario, At(p, 1), 42);
        var sequential = DeterminismTests.Fingerprint(outcomes, state);
        foreach (var threads in ThreadCounts)
        {
            var (o, s) = DeterminismTests.RunMarket(scenario, At(p, threads), 42);
            Assert.Equal(sequential, DeterminismTests.Fingerprint(o, s));
        }
    }
}
