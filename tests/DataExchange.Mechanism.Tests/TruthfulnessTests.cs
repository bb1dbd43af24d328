using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>Thm 5.1: with common random numbers the buyer's utility mu G(b) - RF*(p, b) is maximised at b = mu.</summary>
public class TruthfulnessTests(ITestOutputHelper output)
{
    private static readonly double[] Factors = [0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5];

    [Fact]
    public void Truthful_bid_maximises_average_utility_and_is_individually_rational()
    {
        const int seeds = 400;
        var p = MarketParameters.Default;
        var grid = PriceGrid.Create(p);
        var sum = new double[Factors.Length];
        var belowPrice = 0;
        for (var seed = 0; seed < seeds; seed++)
        {
            var scenario = SyntheticMarket.Generate(8, 200, 1, (ulong)(7000 + seed), 0.5, 2.0);
            var buyer = scenario.Buyers[0];
            var mu = buyer.Valuation;
            // one noise matrix for every bid of this task (common random numbers)
            var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, SeededRandom.Derive(99, (ulong)seed), p);
            var price = grid.Prices[new SeededRandom((ulong)seed).Next(grid.Count)];
            if (mu < price) belowPrice++;
            for (var i = 0; i < Factors.Length; i++)
            {
                var b = mu * Factors[i];
                var g = gains.Gain(price, b);
                var rf = gains.Revenue(price, b);
                Assert.True(double.IsFinite(g) && double.IsFinite(rf));
                Assert.True(rf >= 0 && rf <= b * g + 1e-12, $"seed {seed}: RF* = {rf}, b G(b) = {b * g}");
                if (b <= p.MaxPrice) Assert.True(b * g <= p.MaxPrice);
                var u = mu * g - rf;
                if (Factors[i] == 1.0) Assert.True(u >= -1e-12, $"seed {seed}: U(mu) = {u} < 0");
                sum[i] += u;
            }
        }
        var mean = sum.Select(v => v / seeds).ToArray();
        var atMu = mean[Array.IndexOf(Factors, 1.0)];
        for (var i = 0; i < Factors.Length; i++)
            output.WriteLine($"b = {Factors[i]:F2} mu: mean U = {mean[i]:F6} (U(mu) - U(b) = {atMu - mean[i]:E3})");
        output.WriteLine($"{belowPrice} of {seeds} tasks had mu < p");
        Assert.True(belowPrice > seeds / 10, "too few tasks priced above the valuation to test under-bidding");
        for (var i = 0; i < Factors.Length; i++)
        {
            if (Factors[i] < 1.0)
                Assert.True(atMu > mean[i], $"bidding {Factors[i]} mu: mean U {mean[i]} is not below U(mu) = {atMu}");
            else if (Factors[i] > 1.0)
                Assert.True(atMu >= mean[i] - 1e-3, $"bidding {Factors[i]} mu: mean U {mean[i]} beats U(mu) = {atMu} by more than 1e-3");
        }
    }

    [Fact]
    public void Utility_is_flat_above_the_price_and_the_gain_is_monotone_in_the_bid_on_average()
    {
        // Per task, G(b) at a price: exact features from b = p on; on average more bid, more gain.
        var p = MarketParameters.Default;
        var bids = Enumerable.Range(0, 21).Select(i => 0.1 * i).ToArray();
        var mean = new double[bids.Length];
        for (var seed = 0; seed < 40; seed++)
        {
            var scenario = SyntheticMarket.Generate(6, 150, 1, (ulong)(800 + seed));
            var gains = MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, (ulong)seed, p);
            const double price = 1.2;
            for (var i = 0; i < bids.Length; i++)
            {
                var g = gains.Gain(price, bids[i]);
                mean[i] += g / 40;
                if (bids[i] >= price) Assert.Equal(gains.GainAtNoise(0.0), g);
            }
        }
        for (var i = 1; i < bids.Length; i++) Assert.True(mean[i] >= mean[i - 1] - 1e-12, $"mean G falls from {mean[i - 1]} to {mean[i]} at b = {bids[i]}");
        Assert.True(mean[^1] > mean[0] + 0.01);
    }
}
