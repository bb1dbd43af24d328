using MathNet.Numerics.Distributions;
using Xunit.Abstractions;

namespace DataExchange.Mechanism.Tests;

/// <summary>
/// The payout rules (MarketParameters.PayoutRule): the ledger identity under every rule, the thresholded rule's
/// robustness to exact copies and its payout on the seed scenario, the interventional games against a from-scratch
/// reference and their axioms, and what copying earns under each rule.
/// </summary>
public class PayoutRuleTests(ITestOutputHelper output)
{
    private static readonly PayoutRule[] Rules = PayoutRules.All.ToArray();

    private static MarketParameters Exact(PayoutRule rule) => MarketParameters.Default with { PayoutRule = rule, ExactShapley = true };

    [Fact]
    public void Rule_names_round_trip_and_unknown_names_are_refused()
    {
        Assert.Equal(["paper", "renormalised", "thresholded", "interventional", "interventional-mse"], PayoutRules.Names);
        foreach (var rule in Rules)
        {
            Assert.Equal(rule, PayoutRules.Parse(PayoutRules.Name(rule)));
            Assert.Equal(rule, PayoutRules.Parse(PayoutRules.Name(rule).ToUpperInvariant()));
        }
        var e = Assert.Throws<ArgumentException>(() => PayoutRules.Parse("robust"));
        Assert.Contains("thresholded", e.Message);
        Assert.Equal(PayoutRule.Paper, MarketParameters.Default.PayoutRule);
        Assert.Equal("SimilarityThreshold", Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { SimilarityThreshold = 1.0 }).Validate()).ParamName);
        Assert.Equal("SimilarityThreshold", Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { SimilarityThreshold = -0.1 }).Validate()).ParamName);
        Assert.Equal("PayoutRule", Assert.Throws<ArgumentOutOfRangeException>(() => (MarketParameters.Default with { PayoutRule = (PayoutRule)99 }).Validate()).ParamName);
    }

    [Fact]
    public void Every_rule_keeps_charge_equal_to_paid_plus_retained_plus_fee_exactly()
    {
        var rng = new SeededRandom(2024);
        for (var trial = 0; trial < 12; trial++)
        {
            var m = 3 + trial % 5;
            var scenario = SyntheticMarket.Generate(m, 120, 1, 500 + (ulong)trial);
            var y = scenario.Buyers[0].Target;
            var charge = decimal.Round((decimal)(rng.NextDouble() * Math.Pow(10, rng.Next(-3, 4))), 8);
            var fee = trial % 3 == 0 ? 0.05m : 0m;
            var bid = 0.5 + rng.NextDouble();
            var price = 2 * rng.NextDouble();
            var seeds = TaskSeeds.ForTask(77, trial);
            foreach (var rule in Rules)
            {
                var p = MarketParameters.Default with { PayoutRule = rule, MarketFeeRate = fee, ShapleyPermutations = 40, ExactShapley = trial % 2 == 0 };
                var split = MarketTask.Settle(scenario.Sellers, y, bid, price, charge, seeds, p).Split;
                Assert.Equal(charge, split.PaidToSellers + split.Retained + split.Fee);
                Assert.True(split.Retained >= 0 && split.Payouts.All(x => x.Amount >= 0), $"{rule}: negative line");
                if (PayoutRules.PaysAll(rule) && split.Payouts.Any(x => x.Share > 0))
                    Assert.Equal(charge - split.Fee, split.PaidToSellers);
            }
        }
    }

    [Fact]
    public void Thresholded_similarity_keeps_an_exact_copy_at_one_and_drops_what_is_below_tau()
    {
        double[] a = [1, 0, 0, 1];
        double[] b = [-2, 0, 0, -2];         // |cos| 1 with a
        double[] c = [1, 0.2, 0, 1];         // cos 2 / (sqrt 2 sqrt 2.04)
        double[] d = [1, 1, 0, 0];           // cos 0.5 with a
        var sellers = Reference.Sellers([a, b, c, d]);
        var plain = RobustShares.Similarity(sellers);
        var sim = RobustShares.Similarity(sellers, 0.9);
        Assert.Equal(1.0, sim[0, 1], 13);          // 1 up to the rounding of |cos|, amplified by 1 / (1 - tau)
        Assert.Equal(1.0, sim[2, 2], 15);
        Assert.Equal((plain[0, 2] - 0.9) / 0.1, sim[0, 2], 12);
        Assert.InRange(sim[0, 2], 0.89, 0.91);
        Assert.Equal(0.0, sim[0, 3]);
        Assert.Equal(0.0, sim[1, 3]);
        Assert.Equal(plain[0, 3], RobustShares.Similarity(sellers, 0.0)[0, 3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustShares.Similarity(sellers, 1.0));
        // never more than |cos|: the thresholded rule pays at least what the paper's pays, seller by seller
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 4; j++)
                Assert.True(sim[i, j] <= plain[i, j] + 1e-15);
    }

    /// <summary>
    /// Copies never raise the copier's total under thresholded PD_B* (Prop. 5.2 with SM'(copy) = 1, lambda = ln 2), for
    /// 1, 2 and 4 exact copies, with exact Shapley values, on tasks of a market whose sellers share factors.
    /// Mutation checks (each done once, then reverted): with RobustShares.Similarity computing max(0, |cos| - tau)
    /// instead of max(0, (|cos| - tau) / (1 - tau)), so that an exact copy scores 0.1 instead of 1, this test FAILED
    /// for all three seeds (e.g. seed 32 buyer-000: 1 copy raised the copier's total from 0.48725518 to 0.59403128);
    /// with lambda = 0.3 instead of ln 2 it FAILED for seed 32 (buyer-001, 1 copy: 0.35687560 to 0.37231102) and
    /// passed for 31 and 33: Prop. 5.2's (c + 1) exp(-lambda c) &lt;= 1 needs lambda &gt;= ln 2 at c = 1.
    /// </summary>
    [Theory]
    [InlineData(31UL)]
    [InlineData(32UL)]
    [InlineData(33UL)]
    public void Thresholded_exact_copies_never_raise_the_copiers_total(ulong seed)
    {
        var raisedIn = CopiesRaise(seed, Exact(PayoutRule.Thresholded), out var checkedTasks);
        Assert.True(checkedTasks >= 2, $"only {checkedTasks} tasks had a paid copier");
        Assert.True(raisedIn.Count == 0, string.Join("; ", raisedIn));
    }

    /// <summary>The renormalised rule fails the same test on the same tasks (Prop. 5.1: balanced, so not robust).</summary>
    [Fact]
    public void Renormalised_exact_copies_raise_the_copiers_total_on_the_same_tasks()
    {
        var raisedIn = new[] { 31UL, 32UL, 33UL }.SelectMany(seed => CopiesRaise(seed, Exact(PayoutRule.Renormalised), out _)).ToList();
        output.WriteLine(string.Join("\n", raisedIn));
        Assert.NotEmpty(raisedIn);
    }

    /// <summary>
    /// For each task of a 6-seller market (sellers share factors) whose copier is paid: where 1, 2 or 4 exact copies
    /// raised the copier's total payout (or its total share, beyond rounding), with exact Shapley values.
    /// </summary>
    private List<string> CopiesRaise(ulong seed, MarketParameters p, out int checkedTasks)
    {
        var scenario = SyntheticMarket.Generate(6, 200, 3, seed);
        var raised = new List<string>();
        checkedTasks = 0;
        foreach (var buyer in scenario.Buyers)
        {
            var (alone, copier) = CopierPayout(scenario.Sellers, buyer.Target, p, null, 0);
            if (alone.Amount == 0) continue;   // a buyer whose target uses none of the sellers: nothing to copy for
            checkedTasks++;
            foreach (var copies in new[] { 1, 2, 4 })
            {
                var (after, _) = CopierPayout(scenario.Sellers, buyer.Target, p, copier, copies);
                output.WriteLine($"{PayoutRules.Name(p.PayoutRule)}, seed {seed} {buyer.Id}: {copies} copies: {after.Amount} vs {alone.Amount} (share {after.Share:F6} vs {alone.Share:F6})");
                if (after.Share > alone.Share + 1e-12 || after.Amount > alone.Amount)
                    raised.Add($"seed {seed} {buyer.Id}, {copies} copies: total {after.Amount} (share {after.Share}) above {alone.Amount} (share {alone.Share})");
            }
        }
        return raised;
    }

    /// <summary>The copier's total payout (a charge of 1) and share; the copier is the largest PD_A* share when not given.</summary>
    private static ((decimal Amount, double Share) Total, int Copier) CopierPayout(FeatureSet sellers, double[] y, MarketParameters p, int? copier, int copies, double noise = 0)
    {
        var seeds = TaskSeeds.ForTask(5, 0);
        var who = copier ?? ArgMax(Shapley.Exact(MarketTask.Gains(sellers, y, seeds.Noise, p), 0.0).Shares());
        var market = copies == 0 ? sellers : SyntheticMarket.WithCopies(sellers, who, copies, noise, 9);
        var outcome = SettleUnnoised(market, y, 1m, seeds, p);
        var owned = new[] { who }.Concat(Enumerable.Range(sellers.Sellers, copies)).ToArray();
        return ((owned.Sum(i => outcome.Split.Payouts[i].Amount), owned.Sum(i => outcome.RobustShares[i])), who);
    }

    private static int ArgMax(double[] values) => Array.IndexOf(values, values.Max());

    /// <summary>
    /// Settlement on the sellers' own series (noise level 0), so copies are copies in the features the values are
    /// computed on: a task's own noise level comes from the ironed AF* and may add independent noise to each copy.
    /// </summary>
    private static SettlementOutcome SettleUnnoised(FeatureSet sellers, double[] y, decimal charge, TaskSeeds seeds, MarketParameters p)
        => MarketTask.PayOut(MarketTask.SellerValues(MarketTask.Gains(sellers, y, seeds.Noise, p), 0.0, seeds.Permutations), sellers, charge, p);

    [Fact]
    public void Thresholded_pays_out_at_least_90_percent_on_the_seed_scenario()
    {
        // dx simulate's defaults: M = 20, T = 400, N = 120, K = 200, seed 42
        var scenario = SyntheticMarket.Generate(20, 400, 120, 42);
        var p = MarketParameters.Default with { PayoutRule = PayoutRule.Thresholded, ExpectedTasks = 120 };
        var market = new InProcessMarket(scenario.Sellers, p, 42);
        decimal charged = 0, paid = 0, paperPaid = 0;
        foreach (var buyer in scenario.Buyers)
        {
            var settlement = market.Run(buyer.Id, buyer.Target, buyer.Valuation).Settlement;
            charged += settlement.Split.Charge;
            paid += settlement.Split.PaidToSellers;
            // the paper's rule on the same Shapley values and charge
            paperPaid += MarketTask.PayOut(settlement.Shapley, scenario.Sellers, settlement.Split.Charge, p with { PayoutRule = PayoutRule.Paper }).Split.PaidToSellers;
        }
        output.WriteLine($"thresholded paid {paid} of {charged} ({paid / charged:P1}); paper {paperPaid}");
        Assert.True(paid >= 0.9m * charged, $"thresholded paid {paid} of {charged}");
        Assert.True(paperPaid < 0.02m * charged, $"the paper's PD_B* paid {paperPaid} of {charged} (the issue's 1 %)");
    }

    [Theory]
    [InlineData(PayoutRule.Interventional)]
    [InlineData(PayoutRule.InterventionalMse)]
    public void Interventional_pays_the_whole_charge_symmetric_sellers_alike_and_a_noise_seller_about_nothing(PayoutRule rule)
    {
        const int steps = 300;
        var scenario = SyntheticMarket.Generate(5, steps, 1, 61);
        var rows = Reference.Rows(scenario.Sellers).ToList();
        rows.Add((double[])rows[1].Clone());                 // seller 5: the same series as seller 1
        var noiseRow = new double[steps];
        Normal.Samples(new SeededRandom(62), noiseRow, 0, 1);
        rows.Add(noiseRow);                                   // seller 6: pure noise, unrelated to everything
        var sellers = Reference.Sellers(rows.ToArray());
        var y = scenario.Buyers[0].Target.Select((v, t) => v + rows[1][t]).ToArray();
        var p = Exact(rule);
        const decimal charge = 12.34567891m;
        var outcome = SettleUnnoised(sellers, y, charge, TaskSeeds.ForTask(3, 0), p);
        var split = outcome.Split;
        output.WriteLine(string.Join(", ", split.Payouts.Select(x => $"{x.SellerId} {x.Amount}")));
        Assert.Equal(charge, split.PaidToSellers);
        Assert.Equal(0m, split.Retained);
        Assert.True(split.Payouts[1].Amount > 0.1m * charge, "the seller the target leans on is paid");
        Assert.True(Math.Abs(split.Payouts[1].Amount - split.Payouts[5].Amount) <= 0.00000001m,
            $"symmetric sellers: {split.Payouts[1].Amount} vs {split.Payouts[5].Amount}");
        Assert.Equal(outcome.Shapley.Values[1], outcome.Shapley.Values[5], 9);
        Assert.True(outcome.RobustShares[6] < 0.01, $"pure noise seller's share {outcome.RobustShares[6]}");
    }

    /// <summary>
    /// What exact copies earn under the interventional rules, measured on the two kinds of market. Sellers that are
    /// independent series: the copies split the one coefficient the fit gives the series, so the copier's total stays
    /// put (the ridge shrinks a group of k + 1 identical features by alpha / (k + 1) instead of alpha, which is all
    /// that moves it). Sellers that share factors (the seed scenario's kind): the copier's direction is cheaper for the
    /// ridge penalty once duplicated (k + 1 copies of weight b / (k + 1) cost b^2 / (k + 1)), so the full fit moves
    /// coefficient mass from correlated sellers to the copier and copying pays; README's table gives the size.
    /// </summary>
    [Fact]
    public void Interventional_copies_split_one_coefficient_for_independent_sellers_but_pay_when_sellers_share_factors()
    {
        const int m = 5, steps = 300;
        var rng = new SeededRandom(71);
        var rows = new double[m][];
        for (var i = 0; i < m; i++)
        {
            rows[i] = new double[steps];
            Normal.Samples(rng, rows[i], 0, 1);
        }
        var yNoise = new double[steps];
        Normal.Samples(rng, yNoise, 0, 0.5);
        var y = yNoise.Select((v, t) => v + 1.5 * rows[0][t] + rows[1][t] - 0.7 * rows[2][t]).ToArray();
        var independent = Reference.Sellers(rows);
        foreach (var rule in new[] { PayoutRule.Interventional, PayoutRule.InterventionalMse })
        {
            var p = Exact(rule);
            var (alone, copier) = CopierPayout(independent, y, p, 0, 0);
            foreach (var copies in new[] { 1, 2, 4 })
            {
                var (after, _) = CopierPayout(independent, y, p, copier, copies);
                var ratio = after.Share / alone.Share;
                output.WriteLine($"independent sellers, {PayoutRules.Name(rule)}, {copies} copies: x{ratio:F4}");
                Assert.InRange(ratio, 0.97, 1.03);
            }
        }

        var shared = SyntheticMarket.Generate(8, 400, 4, 72);
        foreach (var rule in new[] { PayoutRule.Interventional, PayoutRule.InterventionalMse })
        {
            var ratios = shared.Buyers.Select(b =>
            {
                var (alone, copier) = CopierPayout(shared.Sellers, b.Target, Exact(rule), null, 0);
                return CopierPayout(shared.Sellers, b.Target, Exact(rule), copier, 4).Total.Share / alone.Share;
            }).ToArray();
            output.WriteLine($"sellers sharing 5 factors, {PayoutRules.Name(rule)}, 4 copies: x{ratios.Average():F3} ({string.Join(", ", ratios.Select(r => r.ToString("F3")))})");
            Assert.True(ratios.Average() > 1.05, $"{rule}: copying was expected to pay on factor-sharing sellers, got x{ratios.Average():F3}");
        }
    }
}
