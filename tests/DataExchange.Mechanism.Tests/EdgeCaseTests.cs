namespace DataExchange.Mechanism.Tests;

/// <summary>Degenerate inputs: constant rows, copies, one seller, no noise, a flat target, bad parameters.</summary>
public class EdgeCaseTests
{
    private static readonly MarketParameters Ols = MarketParameters.Default with { RidgeAlpha = 0 };

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void Constant_seller_row_gets_zero_weight_and_no_nan(double alpha)
    {
        var rng = new SeededRandom(61);
        var (basis, y) = Reference.RandomTask(rng, 3, 100);
        var rows = Reference.Rows(basis).Append(Enumerable.Repeat(0.1, 100).ToArray()).Append(new double[100]).ToArray();
        var sellers = Reference.Sellers(rows);
        var noise = NoiseMatrix.Draw(5, 100, 62);
        var p = MarketParameters.Default with { RidgeAlpha = alpha };
        var gains = Reference.Gains(sellers, y, noise, p);
        var withConstants = gains.GainAtNoise(0.0);
        var without = Reference.WalkerGain(GainSystem.Build(gains.Moments, 0.0, p), [0, 1, 2]);
        Assert.False(double.IsNaN(withConstants));
        Assert.Equal(without, withConstants, 14);
        Assert.Equal(Reference.CoalitionGain(rows, [0, 1, 2, 3, 4], y, 70, p), withConstants, 9);
        var phi = Shapley.Exact(gains, 0.0).Values;
        Assert.True(Math.Abs(phi[3]) <= 1e-15 && Math.Abs(phi[4]) <= 1e-15, $"constant rows phi = {phi[3]}, {phi[4]}");
        var predictions = gains.Predictions(sellers, noise, 1, 1);
        Assert.All(predictions, v => Assert.True(double.IsFinite(v)));
        // with noise the constant rows carry noise only: still finite and equal to the reference fit
        var noisy = gains.GainAtNoise(0.9);
        Assert.Equal(Reference.CoalitionGain(Allocation.Allocate(sellers, noise, 0.9), [0, 1, 2, 3, 4], y, 70, p), noisy, 9);
        Assert.All(Shapley.MonteCarlo(gains, 0.9, 30, 1).Values, v => Assert.True(double.IsFinite(v)));
        var sim = RobustShares.Similarity(sellers);
        Assert.All(Enumerable.Range(0, 5), i => Assert.True(double.IsFinite(sim[i, 4]) && sim[4, i] == (i == 4 ? 1.0 : 0.0)));
    }

    [Fact]
    public void Seller_identical_to_another_adds_nothing_under_ols_and_is_symmetric()
    {
        var rng = new SeededRandom(63);
        var (basis, y) = Reference.RandomTask(rng, 3, 120);
        var rows = Reference.Rows(basis).Append(Reference.Rows(basis)[0]).ToArray();
        var sellers = Reference.Sellers(rows);
        var gains = Reference.Gains(sellers, y, NoiseMatrix.Draw(4, 120, 64), Ols);
        var system = GainSystem.Build(gains.Moments, 0.0, Ols);
        Assert.Equal(Reference.WalkerGain(system, [0, 1, 2]), gains.GainAtNoise(0.0), 12);
        var walker = new CoalitionWalker(system);
        Assert.True(walker.Push(0));
        Assert.False(walker.Push(3)); // the copy is dependent: left out
        Assert.Equal(1, walker.Count);
        var phi = Shapley.Exact(gains, 0.0).Values;
        Assert.Equal(phi[0], phi[3], 12);
        Assert.All(phi, v => Assert.False(double.IsNaN(v)));
        var mc = Shapley.MonteCarlo(gains, 0.0, 100, 5).Values;
        Assert.All(mc, v => Assert.False(double.IsNaN(v)));
    }

    [Fact]
    public void Single_seller_market()
    {
        var scenario = SyntheticMarket.Generate(1, 120, 3, 65, 0.5, 2.0);
        var p = MarketParameters.Default;
        var y = scenario.Buyers[0].Target;
        var noise = NoiseMatrix.Draw(1, 120, 66);
        var gains = Reference.Gains(scenario.Sellers, y, noise, p);
        var empty = new CoalitionWalker(GainSystem.Build(gains.Moments, 0.3, p)).Gain();
        var exact = Shapley.Exact(gains, 0.3);
        Assert.Equal(gains.GainAtNoise(0.3) - empty, exact.Values[0], 12);
        Assert.Equal(exact.Values[0], Shapley.MonteCarlo(gains, 0.3, 7, 1).Values[0], 12);
        Assert.Equal(exact.Values[0], Shapley.UntilAccurate(gains, 0.3, new ShapleyAccuracy(0.1, 0.1), 1).Values[0], 12);
        Assert.Equal(Reference.CoalitionGain(Allocation.Allocate(scenario.Sellers, noise, 0.3), [0], y, 84, p), gains.GainAtNoise(0.3), 9);
        if (exact.Values[0] > 0) Assert.Equal([1.0], exact.Shares());
        Assert.Equal(1.0, RobustShares.Similarity(scenario.Sellers)[0, 0]);

        var market = new InProcessMarket(scenario.Sellers, p, 1);
        foreach (var buyer in scenario.Buyers)
        {
            var outcome = market.Run(buyer.Id, buyer.Target, buyer.Valuation);
            var split = outcome.Settlement.Split;
            Assert.Equal(outcome.Allocation.Charge, split.PaidToSellers + split.Retained + split.Fee);
            Assert.True(double.IsFinite(outcome.Allocation.Gain));
        }
    }

    [Fact]
    public void Bid_at_or_above_every_price_gets_what_a_bid_at_the_price_gets()
    {
        // AF* gives such a bid the features exactly; the ironed allocation gives the best-scoring copy of the step
        // bids up to p (the exact one unless a noisier one scores better), so never less gain than the exact features.
        var scenario = SyntheticMarket.Generate(5, 150, 1, 67);
        var p = MarketParameters.Default;
        var grid = PriceGrid.Create(p);
        var buyer = scenario.Buyers[0];
        var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, 68, p);
        const double bid = 2.0; // = bMax, the top of the grid
        foreach (var price in grid.Prices)
        {
            Assert.Equal(0.0, Allocation.NoiseScale(price, bid, p.NoiseSigma));
            Assert.Equal(gains.AllocatedNoise(price, price), gains.AllocatedNoise(price, bid));
            Assert.Equal(gains.Ironed(price).Gains.Max(), gains.Gain(price, bid));
            Assert.True(gains.Gain(price, bid) >= gains.GainAtNoise(0.0));
        }
        var quote = new PriceQuote(grid.Count - 1, grid.Prices[^1]);
        var outcome = MarketTask.Allocate(scenario.Sellers, buyer.Target, 2.5, quote, 68, grid, p);
        Assert.Equal(gains.AllocatedNoise(quote.Price, quote.Price), outcome.NoiseScale);
        var nTrain = TaskMoments.TrainLength(150, p.TrainFraction);
        Assert.Equal(nTrain, outcome.PredictionStart);
        var delivered = Allocation.Allocate(scenario.Sellers, NoiseMatrix.Draw(5, 150, 68), outcome.NoiseScale);
        var direct = Reference.Predict(delivered, [0, 1, 2, 3, 4], buyer.Target, nTrain, p.RidgeAlpha);
        for (var t = 0; t < direct.Length; t++) Assert.Equal(direct[t], outcome.Predictions[t], 9);
        for (var c = 0; c < grid.Count; c++)
            Assert.True(outcome.RevenueCurve[c] >= 0 && outcome.RevenueCurve[c] <= 2.5 * gains.Gain(grid.Prices[c], 2.5) + 1e-12);
    }

    [Theory]
    [InlineData(GainKind.NormalisedRmse)]
    [InlineData(GainKind.RSquared)]
    public void Flat_target_in_the_test_part_gives_gain_zero_and_no_nan(GainKind kind)
    {
        var scenario = SyntheticMarket.Generate(4, 100, 1, 69);
        var y = scenario.Buyers[0].Target.ToArray();
        for (var t = 70; t < 100; t++) y[t] = 1.25;
        var p = MarketParameters.Default with { Gain = kind };
        var gains = MarketTask.Gains(scenario.Sellers, y, 70, p);
        foreach (var s in new[] { 0.0, 0.5 })
        {
            Assert.Equal(0.0, gains.GainAtNoise(s));
            Assert.All(Shapley.Exact(gains, s).Values, v => Assert.Equal(0.0, v));
            Assert.All(Shapley.MonteCarlo(gains, s, 20, 3).Values, v => Assert.Equal(0.0, v));
        }
        Assert.Equal(0.0, gains.Revenue(1.0, 0.7));
        Assert.All(gains.Predictions(scenario.Sellers, NoiseMatrix.Draw(4, 100, 70), 1.0, 0.5), v => Assert.True(double.IsFinite(v)));

        // an entirely constant target as well
        var flat = Enumerable.Repeat(3.0, 100).ToArray();
        var flatGains = MarketTask.Gains(scenario.Sellers, flat, 70, p);
        Assert.Equal(0.0, flatGains.GainAtNoise(0.0));
        Assert.All(flatGains.Predictions(scenario.Sellers, NoiseMatrix.Draw(4, 100, 70), 1.0, 1.0), v => Assert.Equal(3.0, v, 12));
    }

    public static TheoryData<string, MarketParameters> BadParameters => new()
    {
        { "NoiseSigma", MarketParameters.Default with { NoiseSigma = -1 } },
        { "NoiseSigma", MarketParameters.Default with { NoiseSigma = double.NaN } },
        { "TrainFraction", MarketParameters.Default with { TrainFraction = 0 } },
        { "TrainFraction", MarketParameters.Default with { TrainFraction = 1 } },
        { "RidgeAlpha", MarketParameters.Default with { RidgeAlpha = -0.5 } },
        { "RidgeAlpha", MarketParameters.Default with { RidgeAlpha = double.PositiveInfinity } },
        { "IntegralPoints", MarketParameters.Default with { IntegralPoints = 1 } },
        { "MinPrice", MarketParameters.Default with { MinPrice = -0.1 } },
        { "MaxPrice", MarketParameters.Default with { MaxPrice = 0 } },
        { "MaxPrice", MarketParameters.Default with { MinPrice = 1, MaxPrice = 1 } },
        { "Lipschitz", MarketParameters.Default with { Lipschitz = 0 } },
        { "ExpectedTasks", MarketParameters.Default with { ExpectedTasks = 0 } },
        { "RobustnessLambda", MarketParameters.Default with { RobustnessLambda = -1 } },
        { "ShapleyPermutations", MarketParameters.Default with { ShapleyPermutations = 0 } },
        { "LedgerDecimals", MarketParameters.Default with { LedgerDecimals = 19 } },
        { "LedgerDecimals", MarketParameters.Default with { LedgerDecimals = -1 } },
        { "MarketFeeRate", MarketParameters.Default with { MarketFeeRate = 1m } },
        { "MarketFeeRate", MarketParameters.Default with { MarketFeeRate = -0.01m } },
        { "Epsilon", MarketParameters.Default with { ShapleyTarget = new ShapleyAccuracy(0, 0.1) } },
        { "Delta", MarketParameters.Default with { ShapleyTarget = new ShapleyAccuracy(0.1, 1) } },
    };

    [Theory]
    [MemberData(nameof(BadParameters))]
    public void Validate_names_the_bad_parameter(string name, MarketParameters parameters)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => parameters.Validate());
        Assert.Equal(name, e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InProcessMarket(SyntheticMarket.Generate(2, 20, 0, 1).Sellers, parameters, 1));
    }

    [Fact]
    public void Default_parameters_are_valid()
    {
        Assert.Same(MarketParameters.Default, MarketParameters.Default.Validate());
        var p = MarketParameters.Default;
        Assert.Equal(1.0, p.RidgeAlpha);
        Assert.Equal(0.7, p.TrainFraction);
        Assert.Equal(Math.Log(2), p.RobustnessLambda);
        Assert.Equal(PayoutRule.Paper, p.PayoutRule);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Task_moments_refuse_a_non_finite_target_naming_its_index(double bad)
    {
        var scenario = SyntheticMarket.Generate(2, 30, 1, 71);
        var y = scenario.Buyers[0].Target.ToArray();
        y[17] = bad;
        var e = Assert.Throws<ArgumentException>(() => TaskMoments.Compute(scenario.Sellers, y, NoiseMatrix.Draw(2, 30, 1), MarketParameters.Default));
        Assert.Contains("target[17]", e.Message);
        Assert.Equal("target", e.ParamName);
    }

    [Fact]
    public void Task_moments_refuse_wrong_lengths_and_series_too_short()
    {
        var scenario = SyntheticMarket.Generate(2, 30, 1, 72);
        var y = scenario.Buyers[0].Target;
        Assert.Throws<ArgumentException>(() => TaskMoments.Compute(scenario.Sellers, y.AsSpan(0, 29), NoiseMatrix.Draw(2, 30, 1), MarketParameters.Default));
        Assert.Throws<ArgumentException>(() => TaskMoments.Compute(scenario.Sellers, y, NoiseMatrix.Draw(3, 30, 1), MarketParameters.Default));
        // T = 3: trains on floor(2.1) = 2 steps and would score on 1: too short
        var tiny = new FeatureSet(["a"], [[1.0, 2.0, 4.0]]);
        var e = Assert.Throws<ArgumentException>(() => TaskMoments.Compute(tiny, [1.0, 3.0, 2.0], NoiseMatrix.Draw(1, 3, 1), MarketParameters.Default));
        Assert.Equal("target", e.ParamName);
        // T = 4: 2 and 2 is enough
        var four = new FeatureSet(["a"], [[1.0, 2.0, 4.0, 3.0]]);
        Assert.Equal(2, TaskMoments.Compute(four, [1.0, 3.0, 2.0, 5.0], NoiseMatrix.Draw(1, 4, 1), MarketParameters.Default).TestSize);
    }

    [Fact]
    public void Feature_set_refuses_bad_rows_naming_them()
    {
        var e = Assert.Throws<ArgumentException>(() => new FeatureSet(["a", "b"], [[1.0, 2.0], [1.0, double.NaN]]));
        Assert.Contains("sellers[1].values[1]", e.Message);
        Assert.Throws<ArgumentException>(() => new FeatureSet(["a", "a"], [[1.0], [2.0]]));
        Assert.Throws<ArgumentException>(() => new FeatureSet(["a", "b"], [[1.0], [2.0, 3.0]]));
        Assert.Throws<ArgumentException>(() => new FeatureSet([], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => MarketTask.ValidateBid(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MarketTask.ValidateBid(double.NaN));
    }
}
