using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>PD_B* (Thm 5.4, Prop. 5.2): copies never raise a seller's total; known answers worked out by hand.</summary>
public class ReplicationTests(ITestOutputHelper output)
{
    private static double[,] Ones(int m)
    {
        var s = new double[m, m];
        for (var i = 0; i < m; i++)
            for (var j = 0; j < m; j++) s[i, j] = 1;
        return s;
    }

    [Fact]
    public void Known_answers_from_a_vector_of_shapley_values()
    {
        // Two identical sellers A, B: 1/2 each. A adds a copy: three identical sellers, 1/3 each.
        var before = Shapley.Shares([0.4, 0.4]);
        var after = Shapley.Shares([0.3, 0.3, 0.3]);
        Assert.Equal(0.5, before[0], 15);
        Assert.Equal(2.0 / 3, after[0] + after[1], 15);

        var ln2 = Math.Log(2);
        Assert.Equal(0.25, RobustShares.Apply(before, Ones(2), ln2)[0], 15);
        var robustAfter = RobustShares.Apply(after, Ones(3), ln2);
        Assert.Equal(1.0 / 6, robustAfter[0] + robustAfter[1], 15);

        Assert.Equal(1 / (2 * Math.E), RobustShares.Apply(before, Ones(2), 1.0)[0], 15);
        Assert.Equal(0.1839, RobustShares.Apply(before, Ones(2), 1.0)[0], 4);
        var eAfter = RobustShares.Apply(after, Ones(3), 1.0);
        Assert.Equal(2 / (3 * Math.E * Math.E), eAfter[0] + eAfter[1], 15);
        Assert.Equal(0.0902, eAfter[0] + eAfter[1], 4);

        // Renormalised PD_B* loses robustness: A's total goes from 1/2 to 2/3.
        var renormBefore = RobustShares.Apply(before, Ones(2), ln2, renormalise: true);
        var renormAfter = RobustShares.Apply(after, Ones(3), ln2, renormalise: true);
        Assert.True(renormAfter[0] + renormAfter[1] > renormBefore[0], "renormalised PD_B* should fail replication robustness");
        Assert.Equal(2.0 / 3, renormAfter[0] + renormAfter[1], 12);
    }

    [Fact]
    public void Known_answers_on_a_real_task_with_identical_rows()
    {
        var scenario = SyntheticMarket.Generate(3, 150, 1, 4);
        var x = scenario.Sellers.Row(0).ToArray();
        var y = scenario.Buyers[0].Target.Select((v, t) => v + 2 * x[t]).ToArray();
        var p = MarketParameters.Default;

        var two = Reference.Sellers([x, (double[])x.Clone()]);
        var three = Reference.Sellers([x, (double[])x.Clone(), (double[])x.Clone()]);
        var sim2 = RobustShares.Similarity(two);
        var sim3 = RobustShares.Similarity(three);
        Assert.Equal(1.0, sim2[0, 1], 12);

        var shares2 = Shapley.Exact(Reference.Gains(two, y, NoiseMatrix.Draw(2, 150, 1), p), 0.0).Shares();
        var shares3 = Shapley.Exact(Reference.Gains(three, y, NoiseMatrix.Draw(3, 150, 1), p), 0.0).Shares();
        Assert.Equal(0.5, shares2[0], 12);
        Assert.Equal(2.0 / 3, shares3[0] + shares3[1], 12);

        var robust2 = RobustShares.Apply(shares2, sim2, p.RobustnessLambda);
        var robust3 = RobustShares.Apply(shares3, sim3, p.RobustnessLambda);
        Assert.Equal(0.25, robust2[0], 12);
        Assert.Equal(1.0 / 6, robust3[0] + robust3[1], 12);
    }

    [Fact]
    public void Similarity_is_absolute_cosine()
    {
        double[] a = [1, 0, 0, 1];
        double[] b = [-2, 0, 0, -2];
        double[] c = [0, 3, 4, 0];
        double[] d = [1, 1, 0, 0];
        double[] zero = [0, 0, 0, 0];
        var sim = RobustShares.Similarity(Reference.Sellers([a, b, c, d, zero]));
        Assert.Equal(1.0, sim[0, 1], 15);           // anti-parallel: |cos| = 1
        Assert.Equal(0.0, sim[0, 2], 15);           // orthogonal
        Assert.Equal(0.5, sim[0, 3], 15);           // cos = 1 / (sqrt2 sqrt2)
        Assert.Equal(3 / (5 * Math.Sqrt(2)), sim[2, 3], 15);
        Assert.Equal(0.0, sim[4, 0]);               // zero row is similar to nothing
        Assert.Equal(sim[3, 2], sim[2, 3]);
        Assert.Throws<ArgumentException>(() => RobustShares.Apply([0.5, 0.5], new double[3, 3], 1));
    }

    [Theory]
    [InlineData(11UL)]
    [InlineData(23UL)]
    public void Copies_never_raise_a_sellers_total_under_pd_b_but_do_under_plain_shares(ulong seed)
    {
        const int m = 6;
        var scenario = SyntheticMarket.Generate(m, 200, 1, seed);
        var p = MarketParameters.Default;
        var baseRows = Reference.Rows(scenario.Sellers);
        var y = scenario.Buyers[0].Target;
        // the copying seller: the one with the largest share with a single copy
        var single = Shapley.Exact(Reference.Gains(scenario.Sellers, y, NoiseMatrix.Draw(m, 200, 2), p), 0.0).Shares();
        var a = Array.IndexOf(single, single.Max());

        double plainOne = 0, robustOne = 0;
        foreach (var copies in new[] { 1, 2, 3, 5 })
        {
            var rows = baseRows.ToList();
            var ids = Enumerable.Range(0, m).Select(i => $"s{i}").ToList();
            for (var k = 1; k < copies; k++)
            {
                rows.Add((double[])baseRows[a].Clone());
                ids.Add($"s{a}-copy{k}");
            }
            var sellers = new FeatureSet(ids, rows);
            var gains = Reference.Gains(sellers, y, NoiseMatrix.Draw(sellers.Sellers, 200, 2), p);
            var shares = Shapley.Exact(gains, 0.0).Shares();
            var robust = RobustShares.Apply(shares, RobustShares.Similarity(sellers), p.RobustnessLambda);
            var owned = new[] { a }.Concat(Enumerable.Range(m, copies - 1)).ToArray();
            var plain = owned.Sum(i => shares[i]);
            var robustTotal = owned.Sum(i => robust[i]);
            output.WriteLine($"copies {copies}: plain {plain:F5}, PD_B* {robustTotal:F5}");
            // the copies are interchangeable: equal shares
            foreach (var i in owned) Assert.Equal(shares[a], shares[i], 10);
            if (copies == 1)
            {
                plainOne = plain;
                robustOne = robustTotal;
                continue;
            }
            Assert.True(plain > plainOne, $"{copies} copies: plain share total {plain} not above single {plainOne}");
            Assert.True(robustTotal <= robustOne + 1e-12, $"{copies} copies: PD_B* total {robustTotal} above single {robustOne}");
        }
    }
}
