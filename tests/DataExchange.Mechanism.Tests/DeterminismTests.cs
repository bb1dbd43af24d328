namespace DataExchange.Mechanism.Tests;

/// <summary>Same seeds, same results, bit for bit.</summary>
public class DeterminismTests
{
    /// <summary>Every number of a run as a flat list of 64-bit patterns (doubles) and decimal bits.</summary>
    internal static List<long> Fingerprint(IEnumerable<TaskOutcome> outcomes, PricerState state)
    {
        var bits = new List<long>();
        void D(double v) => bits.Add(BitConverter.DoubleToInt64Bits(v));
        void M(decimal v)
        {
            foreach (var i in decimal.GetBits(v)) bits.Add(i);
        }
        foreach (var o in outcomes)
        {
            bits.Add((long)o.Seeds.Price);
            bits.Add((long)o.Seeds.Noise);
            bits.Add((long)o.Seeds.Permutations);
            var a = o.Allocation;
            D(a.Price);
            bits.Add(a.PriceIndex);
            D(a.Bid);
            D(a.NoiseScale);
            D(a.Gain);
            D(a.Revenue);
            M(a.Charge);
            foreach (var v in a.RevenueCurve) D(v);
            bits.Add(a.PredictionStart);
            foreach (var v in a.Predictions) D(v);
            var s = o.Settlement;
            foreach (var v in s.Shapley.Values) D(v);
            bits.Add(s.Shapley.Permutations);
            foreach (var v in s.Shares) D(v);
            foreach (var v in s.RobustShares) D(v);
            M(s.Split.Charge);
            M(s.Split.Fee);
            M(s.Split.Retained);
            foreach (var p in s.Split.Payouts)
            {
                D(p.Share);
                M(p.Amount);
            }
        }
        foreach (var w in state.Weights) D(w);
        bits.Add(state.Updates);
        return bits;
    }

    internal static (List<TaskOutcome> Outcomes, PricerState State) RunMarket(MarketScenario scenario, MarketParameters p, ulong seed)
    {
        var market = new InProcessMarket(scenario.Sellers, p, seed);
        var outcomes = scenario.Buyers.Select(b => market.Run(b.Id, b.Target, b.Valuation)).ToList();
        Assert.Equal(scenario.Buyers.Count, market.TasksRun);
        return (outcomes, market.State);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void In_process_market_replays_bit_for_bit_and_another_seed_differs(bool exact)
    {
        var scenario = SyntheticMarket.Generate(10, 300, 10, 2019, 0.5, 2.0);
        var p = MarketParameters.Default with { ExactShapley = exact, MarketFeeRate = exact ? 0.025m : 0m };
        var (first, firstState) = RunMarket(scenario, p, 42);
        var (second, secondState) = RunMarket(scenario, p, 42);
        var (other, otherState) = RunMarket(scenario, p, 43);
        var a = Fingerprint(first, firstState);
        Assert.Equal(a, Fingerprint(second, secondState));
        Assert.NotEqual(a, Fingerprint(other, otherState));

        foreach (var o in first)
        {
            // the charge is the rounded revenue at the quoted price, and the ledger balances
            Assert.Equal(Payout.Charge(o.Allocation.Revenue, p.LedgerDecimals), o.Allocation.Charge);
            Assert.Equal(o.Allocation.RevenueCurve[o.Allocation.PriceIndex], o.Allocation.Revenue);
            var split = o.Settlement.Split;
            Assert.Equal(o.Allocation.Charge, split.PaidToSellers + split.Retained + split.Fee);
            Assert.All(o.Allocation.Predictions, v => Assert.True(double.IsFinite(v)));
            Assert.All(o.Settlement.Shapley.Values, v => Assert.True(double.IsFinite(v)));
            Assert.Equal(exact ? 0 : p.ShapleyPermutations, o.Settlement.Shapley.Permutations);
        }
    }

    [Fact]
    public void A_tasks_numbers_do_not_depend_on_what_was_computed_before_on_it()
    {
        // One TaskGains used for many levels, revenues and Shapley runs in a shuffled order gives, bit for bit,
        // what a fresh TaskGains gives for each single question (no state leaks between calls).
        var scenario = SyntheticMarket.Generate(7, 200, 1, 515);
        var y = scenario.Buyers[0].Target;
        var p = MarketParameters.Default;
        var levels = Enumerable.Range(0, 40).Select(i => i * 0.05).ToArray();
        int[] order = Enumerable.Range(0, levels.Length).ToArray();
        new SeededRandom(3).Shuffle(order);
        var shared = MarketTask.Gains(scenario.Sellers, y, 516, p);
        var sharedGains = new double[levels.Length];
        foreach (var i in order)
        {
            sharedGains[i] = shared.GainAtNoise(levels[i]);
            shared.Revenue(1.0 + levels[i] / 4, 0.9);
            if (i % 10 == 0) Shapley.MonteCarlo(shared, levels[i], 5, (ulong)i);
        }
        for (var i = 0; i < levels.Length; i++)
        {
            var fresh = MarketTask.Gains(scenario.Sellers, y, 516, p).GainAtNoise(levels[i]);
            Assert.Equal(BitConverter.DoubleToInt64Bits(fresh), BitConverter.DoubleToInt64Bits(sharedGains[i]));
        }
        var freshRevenue = MarketTask.Gains(scenario.Sellers, y, 516, p).Revenue(1.3, 0.9);
        Assert.Equal(BitConverter.DoubleToInt64Bits(freshRevenue), BitConverter.DoubleToInt64Bits(shared.Revenue(1.3, 0.9)));
        var freshExact = Shapley.Exact(MarketTask.Gains(scenario.Sellers, y, 516, p), 0.35).Values;
        Assert.Equal(freshExact.Select(BitConverter.DoubleToInt64Bits), Shapley.Exact(shared, 0.35).Values.Select(BitConverter.DoubleToInt64Bits));
        var freshMc = Shapley.MonteCarlo(MarketTask.Gains(scenario.Sellers, y, 516, p), 0.35, 50, 8).Values;
        Assert.Equal(freshMc.Select(BitConverter.DoubleToInt64Bits), Shapley.MonteCarlo(shared, 0.35, 50, 8).Values.Select(BitConverter.DoubleToInt64Bits));
        var grid = PriceGrid.Create(p);
        var freshCurve = MarketTask.Gains(scenario.Sellers, y, 516, p).RevenueCurve(grid, 1.1);
        Assert.Equal(freshCurve.Select(BitConverter.DoubleToInt64Bits), shared.RevenueCurve(grid, 1.1).Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Market_task_steps_equal_the_combined_run()
    {
        // Allocate and Settle called separately (as the services do) give the same numbers as Run.
        var scenario = SyntheticMarket.Generate(6, 200, 1, 5);
        var p = MarketParameters.Default;
        var grid = PriceGrid.Create(p);
        var buyer = scenario.Buyers[0];
        var seeds = TaskSeeds.ForTask(77, 3);
        var quote = MultiplicativeWeightsPricer.Quote(PricerState.Initial(grid), grid, seeds.Price);
        var run = MarketTask.Run(buyer.Id, scenario.Sellers, buyer.Target, buyer.Valuation, quote, seeds, grid, p);
        var allocation = MarketTask.Allocate(scenario.Sellers, buyer.Target, buyer.Valuation, quote, seeds.Noise, grid, p);
        var settlement = MarketTask.Settle(scenario.Sellers, buyer.Target, buyer.Valuation, quote.Price, allocation.Charge, seeds, p);
        Assert.Equal(BitConverter.DoubleToInt64Bits(run.Allocation.Revenue), BitConverter.DoubleToInt64Bits(allocation.Revenue));
        Assert.Equal(run.Allocation.Predictions, allocation.Predictions);
        Assert.Equal(run.Settlement.Shapley.Values, settlement.Shapley.Values);
        Assert.Equal(run.Settlement.Split.Payouts.Select(x => x.Amount), settlement.Split.Payouts.Select(x => x.Amount));
    }

    [Fact]
    public void Seeded_random_sequences_are_deterministic_and_seed_dependent()
    {
        var a = new SeededRandom(12345);
        var b = new SeededRandom(12345);
        var c = new SeededRandom(12346);
        var differ = 0;
        for (var i = 0; i < 1000; i++)
        {
            var x = a.NextUInt64();
            Assert.Equal(x, b.NextUInt64());
            if (x != c.NextUInt64()) differ++;
        }
        Assert.Equal(1000, differ);

        var d1 = new SeededRandom(7);
        var d2 = new SeededRandom(7);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(d1.NextDouble()), BitConverter.DoubleToInt64Bits(d2.NextDouble()));
            Assert.Equal(d1.Next(17), d2.Next(17));
            Assert.Equal(d1.Next(-5, 5), d2.Next(-5, 5));
        }
    }

    [Fact]
    public void SplitMix64_known_answer_and_derived_seeds()
    {
        // SplitMix64 from state 0: the reference implementation's first output is 0xE220A8397B1DCDAF.
        var state = 0UL;
        Assert.Equal(0xE220A8397B1DCDAFUL, SeededRandom.SplitMix64(ref state));
        Assert.Equal(0x9E3779B97F4A7C15UL, state);
        Assert.Equal(SeededRandom.Derive(5, 1), SeededRandom.Derive(5, 1));
        Assert.NotEqual(SeededRandom.Derive(5, 1), SeededRandom.Derive(5, 2));
        Assert.NotEqual(SeededRandom.Derive(5, 1), SeededRandom.Derive(6, 1));
        var t = TaskSeeds.ForTask(9, 4);
        Assert.Equal(t, TaskSeeds.ForTask(9, 4));
        Assert.NotEqual(t, TaskSeeds.ForTask(9, 5));
        Assert.True(t.Price != t.Noise && t.Noise != t.Permutations && t.Price != t.Permutations);
    }

    [Fact]
    public void Seeded_random_ranges_and_uniformity()
    {
        var rng = new SeededRandom(1);
        var buckets = new int[10];
        for (var i = 0; i < 100000; i++)
        {
            var u = rng.NextDouble();
            Assert.InRange(u, 0.0, 0.9999999999999999);
            buckets[(int)(u * 10)]++;
            var k = rng.Next(7);
            Assert.InRange(k, 0, 6);
            Assert.InRange(rng.Next(-3, 4), -3, 3);
        }
        Assert.All(buckets, n => Assert.InRange(n, 9500, 10500)); // sd about 95
        int[] items = [0, 1, 2, 3, 4, 5, 6, 7];
        rng.Shuffle(items);
        Assert.Equal(Enumerable.Range(0, 8), items.Order());
        Assert.Equal(0, new SeededRandom(3).Next(0));
    }
}
