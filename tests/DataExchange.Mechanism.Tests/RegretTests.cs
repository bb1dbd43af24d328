using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>Thm 5.2: PF*'s average regret against the best fixed grid price falls with N and stays under the bound.</summary>
public class RegretTests(ITestOutputHelper output)
{
    /// <summary>RF*(c) of a task whose gain curve is h(z) = g min(z/c, 1), at bid b: g b^2 / (2c) for b &lt; c, else g c / 2.</summary>
    private static double ClosedFormRevenue(double c, double g, double b) => b < c ? g * b * b / (2 * c) : g * c / 2;

    private static double Bound(PriceGrid grid, int n) => 2 * grid.MaxPrice * Math.Sqrt(Math.Log(grid.Count) / n) + 1 / Math.Sqrt(n);

    private static (double[][] Curves, PriceGrid Grid) Sequence(int n, ulong seed)
    {
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = n });
        var rng = new SeededRandom(seed);
        var curves = new double[n][];
        for (var t = 0; t < n; t++)
        {
            var g = rng.NextDouble();
            var b = 0.5 + 1.5 * rng.NextDouble();
            curves[t] = grid.Prices.Select(c => ClosedFormRevenue(c, g, b)).ToArray();
        }
        return (curves, grid);
    }

    private static double BestFixed(double[][] curves, int experts)
    {
        var best = 0.0;
        for (var c = 0; c < experts; c++) best = Math.Max(best, curves.Sum(r => r[c]));
        return best;
    }

    /// <summary>Average regret per task with the expected reward under the current weights.</summary>
    private static double ExpectedRegret(double[][] curves, PriceGrid grid)
    {
        var state = PricerState.Initial(grid);
        var earned = 0.0;
        foreach (var curve in curves)
        {
            var probabilities = state.Probabilities();
            for (var c = 0; c < grid.Count; c++) earned += probabilities[c] * curve[c];
            state = MultiplicativeWeightsPricer.Update(state, grid, curve);
        }
        return (BestFixed(curves, grid.Count) - earned) / curves.Length;
    }

    /// <summary>Average regret per task with prices drawn by Quote.</summary>
    private static double SampledRegret(double[][] curves, PriceGrid grid, ulong seed)
    {
        var state = PricerState.Initial(grid);
        var earned = 0.0;
        for (var t = 0; t < curves.Length; t++)
        {
            var quote = MultiplicativeWeightsPricer.Quote(state, grid, SeededRandom.Derive(seed, (ulong)t));
            earned += curves[t][quote.Index];
            state = MultiplicativeWeightsPricer.Update(state, grid, curves[t]);
        }
        return (BestFixed(curves, grid.Count) - earned) / curves.Length;
    }

    [Fact]
    public void Bound_is_0_80_at_N_100()
    {
        var grid = PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = 100 });
        Assert.Equal(0.80, Bound(grid, 100), 2);
    }

    [Fact]
    public void Average_regret_falls_with_N_and_stays_under_the_bound()
    {
        int[] sizes = [100, 400, 1600];
        var expected = new double[sizes.Length];
        var sampled = new double[sizes.Length];
        const int sequences = 8;
        for (var i = 0; i < sizes.Length; i++)
        {
            var n = sizes[i];
            for (var k = 0; k < sequences; k++)
            {
                var (curves, grid) = Sequence(n, (ulong)(31 * k + 7));
                var r = ExpectedRegret(curves, grid);
                Assert.True(r <= Bound(grid, n), $"N={n} sequence {k}: regret/N {r} above bound {Bound(grid, n)}");
                Assert.True(r >= -1e-12, $"N={n}: expected reward beat every fixed price ({r})");
                expected[i] += r / sequences;
                for (var draw = 0; draw < 4; draw++) sampled[i] += SampledRegret(curves, grid, (ulong)(1000 * k + draw)) / (sequences * 4);
            }
            var bound = Bound(PriceGrid.Create(MarketParameters.Default with { ExpectedTasks = n }), n);
            output.WriteLine($"N={n}: regret/N expected {expected[i]:F4}, sampled {sampled[i]:F4}, bound {bound:F4}");
            Assert.True(sampled[i] <= bound, $"N={n}: sampled regret/N {sampled[i]} above bound {bound}");
        }
        Assert.True(expected[0] > expected[1] && expected[1] > expected[2], $"regret/N does not fall: {string.Join(", ", expected)}");
        Assert.True(sampled[0] > sampled[2], $"sampled regret/N does not fall: {string.Join(", ", sampled)}");
    }
}
