namespace DataExchange.Mechanism.Tests;

/// <summary>The interventional game (arXiv 2310.06000) against a reference built from scratch: one QR ridge fit, no refits.</summary>
public class InterventionalShapleyTests
{
    [Theory]
    [InlineData(5, 0.0, GainKind.NormalisedRmse)]
    [InlineData(6, 0.7, GainKind.NormalisedRmse)]
    [InlineData(6, 0.0, GainKind.RSquared)]
    public void Interventional_shapley_equals_a_reference_built_from_the_full_fit(int m, double s, GainKind kind)
    {
        const int steps = 160;
        var p = MarketParameters.Default with { Gain = kind };
        var scenario = SyntheticMarket.Generate(m, steps, 1, (ulong)(40 + m));
        var y = scenario.Buyers[0].Target;
        var noise = NoiseMatrix.Draw(m, steps, 3);
        var gains = Reference.Gains(scenario.Sellers, y, noise, p);
        var nTrain = TaskMoments.TrainLength(steps, p.TrainFraction);
        var sse = Reference.InterventionalSse(Allocation.Allocate(scenario.Sellers, noise, s), y, nTrain, p.RidgeAlpha);

        var yTest = y.AsSpan(nTrain).ToArray();
        var range = yTest.Max() - yTest.Min();
        var ssTot = yTest.Sum(v => (v - yTest.Average()) * (v - yTest.Average()));
        double G(double e) => Math.Clamp(kind == GainKind.RSquared ? 1 - e / ssTot : 1 - Math.Sqrt(e / yTest.Length) / range, 0, 1);
        var brute = Reference.BruteShapley(sse.Select(G).ToArray(), m);
        var exact = InterventionalShapley.Exact(gains, s);
        Assert.Equal(0, exact.Permutations);
        for (var j = 0; j < m; j++) Assert.True(Math.Abs(brute[j] - exact.Values[j]) <= 1e-9, $"seller {j}: {exact.Values[j]} vs reference {brute[j]}");
        // efficiency: the values add up to G(all) - G(empty), and G(all) is the market's own gain of the full model
        Assert.Equal(gains.GainAtNoise(s) - G(sse[0]), exact.Values.Sum(), 9);

        // the squared-error game: closed form against brute force over v(S) = (R0 - SSE(S)) / R0
        var closed = InterventionalShapley.SquaredError(gains, s);
        var bruteMse = Reference.BruteShapley(sse.Select(e => (sse[0] - e) / sse[0]).ToArray(), m);
        for (var j = 0; j < m; j++) Assert.True(Math.Abs(bruteMse[j] - closed.Values[j]) <= 1e-9, $"seller {j}: closed form {closed.Values[j]} vs {bruteMse[j]}");
        Assert.Equal(1 - sse[^1] / sse[0], closed.Values.Sum(), 9);

        // Monte Carlo of the same game converges to the exact values (K = 4000, marginals well inside [-1, 1])
        var mc = InterventionalShapley.MonteCarlo(gains, s, 4000, 11);
        for (var j = 0; j < m; j++) Assert.True(Math.Abs(mc.Values[j] - exact.Values[j]) <= 0.01, $"seller {j}: MC {mc.Values[j]} vs {exact.Values[j]}");
        var accurate = InterventionalShapley.UntilAccurate(gains, s, new ShapleyAccuracy(0.05, 0.1), 12);
        Assert.InRange(accurate.Permutations, 2, Shapley.UntilAccurateCap(m, new ShapleyAccuracy(0.05, 0.1)));
        for (var j = 0; j < m; j++) Assert.True(Math.Abs(accurate.Values[j] - exact.Values[j]) <= 0.05, $"seller {j}");
    }
}
