using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary>
/// <c>dx payout-rules</c>: the table that compares the payout rules (README, "Payout rules"), from seeded runs.
/// For each rule: the fraction of the charge paid to sellers on the seed scenario (exactly what <c>dx simulate
/// --payout-rule R</c> pays), the time a task takes, and a copier's total payout after it registers 1, 2 or 4 copies
/// of its series (exact, or with independent noise) relative to its payout without them.
/// </summary>
public static class PayoutRulesCommand
{
    /// <summary>
    /// The copies' noise levels, as fractions of the copied series' standard deviation (0 = exact copies). 0.5 is past
    /// where the thresholded rule stops seeing a copy (|cos| = 1 / sqrt(1 + 0.5^2) = 0.894 &lt; tau = 0.9).
    /// </summary>
    public static IReadOnlyList<double> NoiseLevels { get; } = [0.0, 0.05, 0.1, 0.3, 0.5];

    public static IReadOnlyList<int> CopyCounts { get; } = [1, 2, 4];

    public static Command Create()
    {
        var seed = Opt.ULong("--seed", 42, "the seed scenario's seed (as for simulate)");
        var sellers = Opt.Int("--sellers", 20, 1, 1000, "the seed scenario's sellers");
        var steps = Opt.Int("--steps", 400, 8, 1_000_000, "every series' length (both experiments)");
        var buyers = Opt.Int("--buyers", 120, 1, 1_000_000, "the seed scenario's buyer tasks");
        var perms = Opt.Int("--perms", 200, 1, int.MaxValue, "Shapley permutations per task of the seed scenario");
        var exactTasks = Opt.Int("--exact-tasks", 2, 0, 1000, "tasks of the seed scenario also settled with exact Shapley, timed");
        var copySellers = Opt.Int("--copy-sellers", 12, 2, Shapley.MaxExactSellers - CopyCounts.Max(), "sellers of the copy experiments' market before copying");
        var copyTasks = Opt.Int("--copy-tasks", 60, 1, 100_000, "tasks of the copy experiments");
        var copySeed = Opt.ULong("--copy-seed", 7, "the copy experiments' seed");
        var lambda = Opt.Double("--lambda", Math.Log(2), "PD_B*'s similarity penalty (default ln 2)");
        var threshold = Opt.Double("--similarity-threshold", MarketParameters.Default.SimilarityThreshold, "tau of the thresholded rule");
        var rules = Opt.Text("--rules", "a,b", "only these rules (default all)");
        var noise = Opt.Text("--copy-noise", "a,b", "the copies' noise levels, fractions of the series' s.d. (default 0,0.05,0.1,0.3,0.5)");
        var noProgress = Opt.Flag("--no-progress", "no progress bars");
        var command = new Command("payout-rules", "the table comparing the payout rules (README, \"Payout rules\"), from seeded runs: per rule the share of " +
            "the charge paid on the seed scenario, ms per task, and a copier's total payout with 1, 2, 4 copies over without")
            .With(seed, sellers, steps, buyers, perms, exactTasks, copySellers, copyTasks, copySeed, lambda, threshold, rules, noise, noProgress);
        command.SetAction(r => Run(r, new PayoutRulesTable.Setup(r.GetValue(sellers), r.GetValue(steps), r.GetValue(buyers), r.GetValue(seed), r.GetValue(perms),
                r.GetValue(exactTasks), r.GetValue(copySellers), r.GetValue(copyTasks), r.GetValue(copySeed),
                new MarketParameters { ShapleyPermutations = r.GetValue(perms), RobustnessLambda = r.GetValue(lambda), SimilarityThreshold = r.GetValue(threshold),
                    ExpectedTasks = r.GetValue(buyers) }),
            r.GetValue(rules), r.GetValue(noise), r.GetValue(noProgress)));
        return command;
    }

    private static int Run(ParseResult r, PayoutRulesTable.Setup setup, string? ruleNames, string? noiseText, bool noProgress)
    {
        var (stdout, stderr) = (r.Out(), r.Err());
        if (setup.ExactTasks > 0 && setup.Sellers > Shapley.MaxExactSellers)
            throw new UsageException($"--exact-tasks: exact Shapley takes at most {Shapley.MaxExactSellers} sellers, not {setup.Sellers} (or --exact-tasks 0)");
        var rules = ruleNames is null ? PayoutRules.All.ToArray()
            : ruleNames.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(n => MechanismOptions.PayoutRuleNamed(n, "--rules")).Distinct().ToArray();
        if (rules.Length == 0) throw new UsageException("--rules: name at least one payout rule");
        var noiseLevels = noiseText is null ? NoiseLevels : noiseText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= 0 ? v
                : throw new UsageException($"--copy-noise: '{x}' is not a number >= 0")).Distinct().ToArray();
        if (noiseLevels.Count == 0) throw new UsageException("--copy-noise: name at least one noise level (0 = exact copies)");
        var parameters = setup.Parameters;
        try { parameters.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException($"{e.ParamName}: {e.Message.Split(" (Parameter")[0]}"); }

        var progress = !noProgress && !Console.IsErrorRedirected;
        var scenario = SyntheticMarket.Generate(setup.Sellers, setup.Steps, setup.Buyers, setup.Seed);
        var seedRows = new List<SeedScenarioRow>();
        foreach (var rule in rules)
        {
            var bar = progress ? new ProgressBar(stderr, setup.Buyers + setup.ExactTasks, $"seed scenario, {PayoutRules.Name(rule)}") : null;
            seedRows.Add(SeedScenario(scenario, parameters with { PayoutRule = rule }, setup.Seed, setup.ExactTasks, bar));
            bar?.Done();
        }
        var study = CopyStudy(SyntheticMarket.Generate(setup.CopySellers, setup.Steps, setup.CopyTasks, setup.CopySeed), parameters, rules, setup.CopySeed,
            progress ? new ProgressBar(stderr, setup.CopyTasks, "copies") : null, noiseLevels);
        stdout.Write(PayoutRulesTable.Render(seedRows, study, setup));
        return 0;
    }

    /// <summary>One rule on the seed scenario.</summary>
    public sealed record SeedScenarioRow(PayoutRule Rule, decimal Charged, decimal Paid, double MsPerTask, double? ExactSettleMs);

    /// <summary>
    /// The seed scenario's market run with one rule (the same steps as <c>dx simulate</c>), then the exact settlement of
    /// its first <paramref name="exactTasks"/> tasks timed on their own.
    /// </summary>
    public static SeedScenarioRow SeedScenario(MarketScenario scenario, MarketParameters parameters, ulong seed, int exactTasks, ProgressBar? bar = null)
    {
        var market = new InProcessMarket(scenario.Sellers, parameters, seed);
        decimal charged = 0, paid = 0;
        var outcomes = new List<TaskOutcome>();
        var ticks = 0L;
        for (var n = 0; n < scenario.Buyers.Count; n++)
        {
            var buyer = scenario.Buyers[n];
            var start = Stopwatch.GetTimestamp();
            var outcome = market.Run(buyer.Id, buyer.Target, buyer.Valuation);
            ticks += Stopwatch.GetTimestamp() - start;
            charged += outcome.Settlement.Split.Charge;
            paid += outcome.Settlement.Split.PaidToSellers;
            if (n < exactTasks) outcomes.Add(outcome);
            bar?.Report(n + 1);
        }
        double? exactMs = null;
        if (outcomes.Count > 0)
        {
            var exact = parameters with { ExactShapley = true };
            var exactTicks = 0L;
            for (var n = 0; n < outcomes.Count; n++)
            {
                var o = outcomes[n];
                var start = Stopwatch.GetTimestamp();
                MarketTask.Settle(scenario.Sellers, scenario.Buyers[n].Target, o.Allocation.Bid, o.Allocation.Price, o.Allocation.Charge, o.Seeds, exact);
                exactTicks += Stopwatch.GetTimestamp() - start;
                bar?.Report(scenario.Buyers.Count + n + 1);
            }
            exactMs = exactTicks * 1000.0 / Stopwatch.Frequency / outcomes.Count;
        }
        return new SeedScenarioRow(parameters.PayoutRule, charged, paid, ticks * 1000.0 / Stopwatch.Frequency / scenario.Buyers.Count, exactMs);
    }

    /// <summary>
    /// The copier's total payout per task with copies and without, for one rule, noise level and number of copies.
    /// Ratio = sum(with) / sum(without): the copier's mean earnings over the tasks with copies relative to without (a
    /// mean of per-task ratios would be dominated by the tasks where the copier earned next to nothing alone).
    /// </summary>
    public sealed record CopyResult(PayoutRule Rule, double Noise, int Copies, decimal[] With, decimal[] Without)
    {
        public double Ratio => Without.Sum() == 0 ? double.NaN : (double)(With.Sum() / Without.Sum());

        /// <summary>Tasks in which copying raised the copier's total payout.</summary>
        public int Raised => With.Zip(Without).Count(x => x.First > x.Second);

        public int Tasks => With.Length;
    }

    public sealed record CopyStudyResult(IReadOnlyList<CopyResult> Results, int Tasks);

    /// <summary>The charge each copy experiment splits: a round number, so the payouts are shares of it to 1e-11.</summary>
    public const decimal StudyCharge = 1000m;

    /// <summary>
    /// Each buyer of <paramref name="market"/> is one task. Its copier is the seller with the largest PD_A* share (exact
    /// Shapley) before any copying, the seller with the most to gain. The task is settled at noise level 0 (bid at the
    /// price: the sellers' own features) for a charge of <see cref="StudyCharge"/>, with exact Shapley values, before
    /// and after the copier registers 1, 2 or 4 copies at each noise level; the copies' noise is drawn from the task's
    /// seed. The charge is held fixed so the ratio measures the payout rule alone, not the change copies make to the
    /// model's gain and so to the charge.
    /// </summary>
    public static CopyStudyResult CopyStudy(MarketScenario market, MarketParameters parameters, IReadOnlyList<PayoutRule> rules, ulong seed,
        ProgressBar? bar = null, IReadOnlyList<double>? noiseLevels = null)
    {
        var levels = noiseLevels ?? NoiseLevels;
        var exact = parameters with { ExactShapley = true };
        var with = new Dictionary<(PayoutRule, double, int), List<decimal>>();
        var without = new Dictionary<(PayoutRule, double, int), List<decimal>>();
        foreach (var rule in rules)
            foreach (var noise in levels)
                foreach (var copies in CopyCounts)
                {
                    with[(rule, noise, copies)] = [];
                    without[(rule, noise, copies)] = [];
                }
        for (var n = 0; n < market.Buyers.Count; n++)
        {
            var y = market.Buyers[n].Target;
            var seeds = TaskSeeds.ForTask(seed, n);
            var before = Settle(market.Sellers, y, seeds, exact, rules);
            var copier = ArgMax(before.RefitShares);
            foreach (var noise in levels)
            {
                // One noise stream per task and level (named by the level itself, so any --copy-noise list draws the
                // same copies): the first copy is the same whether the copier makes 1, 2 or 4.
                var copySeed = SeededRandom.Derive(seeds.Noise, 1000 + (ulong)Math.Round(noise * 1e6));
                foreach (var copies in CopyCounts)
                {
                    var sellers = SyntheticMarket.WithCopies(market.Sellers, copier, copies, noise, copySeed);
                    var after = Settle(sellers, y, seeds, exact, rules);
                    var owned = new[] { copier }.Concat(Enumerable.Range(market.Sellers.Sellers, copies)).ToArray();
                    foreach (var rule in rules)
                    {
                        with[(rule, noise, copies)].Add(owned.Sum(i => after.Payouts[rule][i]));
                        without[(rule, noise, copies)].Add(before.Payouts[rule][copier]);
                    }
                }
            }
            bar?.Report(n + 1);
        }
        bar?.Done();
        var results = with.Select(kv => new CopyResult(kv.Key.Item1, kv.Key.Item2, kv.Key.Item3, kv.Value.ToArray(), without[kv.Key].ToArray())).ToList();
        return new CopyStudyResult(results, market.Buyers.Count);
    }

    private sealed record Settled(double[] RefitShares, Dictionary<PayoutRule, decimal[]> Payouts);

    /// <summary>One task settled under every rule, with each game's Shapley values computed once (PD_A* serves three rules).</summary>
    private static Settled Settle(FeatureSet sellers, double[] y, TaskSeeds seeds, MarketParameters exact, IReadOnlyList<PayoutRule> rules)
    {
        var gains = MarketTask.Gains(sellers, y, seeds.Noise, exact with { PayoutRule = PayoutRule.Paper });
        var refit = MarketTask.SellerValues(gains, 0.0, seeds.Permutations);
        ShapleyEstimate? interventional = null;
        var payouts = new Dictionary<PayoutRule, decimal[]>();
        foreach (var rule in rules)
        {
            var p = exact with { PayoutRule = rule };
            var values = rule == PayoutRule.Interventional
                ? interventional ??= MarketTask.SellerValues(new TaskGains(gains.Moments, p), 0.0, seeds.Permutations)
                : refit;
            payouts[rule] = MarketTask.PayOut(values, sellers, StudyCharge, p).Split.Payouts.Select(x => x.Amount).ToArray();
        }
        return new Settled(refit.Shares(), payouts);
    }

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
