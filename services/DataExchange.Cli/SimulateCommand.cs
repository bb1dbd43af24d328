using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary><c>dx simulate</c>: the whole market in process, task after task, as the seed report ran it.</summary>
public static class SimulateCommand
{
    private static readonly HashSet<string> Flags = ["--json", "--no-progress", .. MechanismOptions.Flags];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args, Flags);
        var marketPath = a.String("--market");
        var seed = a.ULong("--seed", 42);
        var sellers = a.Int("--sellers", 20, 1, 1000);
        var steps = a.Int("--steps", 400, 4, 10_000_000);
        var buyers = a.Int("--buyers", 120, 0, 10_000_000);
        var muMin = a.Double("--mu-min", 1.0);
        var muMax = a.Double("--mu-max", 2.0);
        var mechanism = MechanismOptions.Parse(a);
        var json = a.Flag("--json");
        var noProgress = a.Flag("--no-progress");
        var top = a.Int("--top", 5, 0);
        var classes = a.Int("--classes", 3, 2, Classification.MaxClasses);
        a.RejectUnknown();

        var scenario = marketPath is not null
            ? MarketFile.Load(marketPath)
            : SyntheticMarket.Generate(sellers, steps, buyers, seed, muMin, muMax);
        // N defaults to the number of buyers here (the services' default, 120, is the seed scenario's).
        var parameters = mechanism.Validated(Math.Max(1, scenario.Buyers.Count));
        scenario = MarketFile.ForTaskKind(scenario, parameters.TaskKind, classes, marketPath is not null);
        if (parameters.ExactShapley && scenario.Sellers.Sellers > Shapley.MaxExactSellers)
            throw new UsageException($"--exact-shapley: {scenario.Sellers.Sellers} sellers, at most {Shapley.MaxExactSellers}");
        var market = new InProcessMarket(scenario.Sellers, parameters, seed);
        var progress = !json && !noProgress && !Console.IsErrorRedirected ? new ProgressBar(stderr, scenario.Buyers.Count) : null;
        var earnings = new decimal[scenario.Sellers.Sellers];
        decimal charged = 0, retained = 0;
        var mechanismTicks = 0L;
        var phaseTicks = new long[Enum.GetValues<TaskPhase>().Length];
        var permutations = 0L;
        var mark = 0L;
        void PhaseDone(TaskPhase phase)
        {
            var now = Stopwatch.GetTimestamp();
            phaseTicks[(int)phase] += now - mark;
            mark = now;
        }
        var wall = Stopwatch.StartNew();
        for (var n = 0; n < scenario.Buyers.Count; n++)
        {
            var buyer = scenario.Buyers[n];
            var start = Stopwatch.GetTimestamp();
            mark = start;
            var outcome = market.Run(buyer.Id, buyer.Target, buyer.Valuation, PhaseDone);
            mechanismTicks += Stopwatch.GetTimestamp() - start;
            permutations += outcome.Settlement.Shapley.Permutations;
            var split = outcome.Settlement.Split;
            charged += split.Charge;
            retained += split.Retained + split.Fee;
            for (var m = 0; m < earnings.Length; m++) earnings[m] += split.Payouts[m].Amount;
            if (json) stdout.WriteLine(TaskLine(n, outcome));
            progress?.Report(n + 1);
        }
        progress?.Done();
        var meanMs = scenario.Buyers.Count == 0 ? 0 : mechanismTicks * 1000.0 / Stopwatch.Frequency / scenario.Buyers.Count;
        var totalMs = mechanismTicks * 1000.0 / Stopwatch.Frequency;
        double PhaseMs(TaskPhase phase) => scenario.Buyers.Count == 0 ? 0 : phaseTicks[(int)phase] * 1000.0 / Stopwatch.Frequency / scenario.Buyers.Count;
        var meanPermutations = scenario.Buyers.Count == 0 ? 0.0 : (double)permutations / scenario.Buyers.Count;
        var ranked = Enumerable.Range(0, earnings.Length).OrderByDescending(m => earnings[m]).ThenBy(m => m).Take(top).ToList();
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                summary = new
                {
                    buyers = scenario.Buyers.Count,
                    sellers = scenario.Sellers.Sellers,
                    steps = scenario.Sellers.Steps,
                    seed,
                    payoutRule = PayoutRules.Name(parameters.PayoutRule),
                    totalRevenue = charged,
                    averageRevenue = scenario.Buyers.Count == 0 ? 0m : charged / scenario.Buyers.Count,
                    paidToSellers = earnings.Sum(),
                    retainedByMarket = retained,
                    topSellers = ranked.Select(m => new { id = scenario.Sellers.SellerIds[m], revenue = earnings[m] }),
                    finalPriceWeights = market.State.Probabilities(),
                    meanMechanismMs = meanMs,
                    totalMechanismMs = totalMs,
                    meanPermutations,
                    phaseMs = new
                    {
                        gram = PhaseMs(TaskPhase.Moments),
                        allocation = PhaseMs(TaskPhase.Allocation),
                        shapley = PhaseMs(TaskPhase.Shapley),
                        other = PhaseMs(TaskPhase.Settlement),
                    },
                },
            }));
            return 0;
        }
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine();
        stdout.WriteLine("===== Simulation Finished =====");
        stdout.WriteLine(string.Format(inv, "Sellers x steps    : {0} x {1}", scenario.Sellers.Sellers, scenario.Sellers.Steps));
        stdout.WriteLine(string.Format(inv, "Total Buyers       : {0}", scenario.Buyers.Count));
        stdout.WriteLine(string.Format(inv, "Payout rule        : {0}", RuleText(parameters)));
        stdout.WriteLine(string.Format(inv, "Total Revenue      : {0:0.0000}", charged));
        stdout.WriteLine(string.Format(inv, "Average Revenue    : {0:0.0000}", scenario.Buyers.Count == 0 ? 0m : charged / scenario.Buyers.Count));
        stdout.WriteLine(string.Format(inv, "Paid to sellers    : {0:0.0000} ({1:0.0} % of the charge)", earnings.Sum(), charged == 0 ? 0m : 100m * earnings.Sum() / charged));
        stdout.WriteLine(string.Format(inv, "Retained by market : {0:0.0000}", retained));
        stdout.WriteLine();
        stdout.WriteLine($"Top {ranked.Count} Sellers by Revenue:");
        foreach (var m in ranked)
            stdout.WriteLine(string.Format(inv, "{0,-12} | Revenue = {1:0.0000}", scenario.Sellers.SellerIds[m], earnings[m]));
        stdout.WriteLine();
        stdout.WriteLine(string.Format(inv, "Mechanism time     : {0:0.0} ms total, {1:0.000} ms per task (wall {2:0.0} ms)", totalMs, meanMs, wall.Elapsed.TotalMilliseconds));
        stdout.WriteLine(string.Format(inv, "  per task        : Gram build {0:0.000} ms, RF* and revenue curve {1:0.000} ms, Shapley {2:0.000} ms ({3:0.#} {5}), other {4:0.000} ms",
            PhaseMs(TaskPhase.Moments), PhaseMs(TaskPhase.Allocation), PhaseMs(TaskPhase.Shapley), meanPermutations, PhaseMs(TaskPhase.Settlement),
            parameters.ShapleyStratified ? "walks, most of them short" : "permutations"));
        return 0;
    }

    internal static string RuleText(MarketParameters p) => p.PayoutRule switch
    {
        PayoutRule.Thresholded => string.Format(CultureInfo.InvariantCulture, "thresholded (tau {0}, lambda {1:0.####})", p.SimilarityThreshold, p.RobustnessLambda),
        PayoutRule.Paper or PayoutRule.Renormalised => string.Format(CultureInfo.InvariantCulture, "{0} (lambda {1:0.####})", PayoutRules.Name(p.PayoutRule), p.RobustnessLambda),
        _ => PayoutRules.Name(p.PayoutRule),
    };

    /// <summary>--payout-rule NAME; --renormalise is kept as another spelling of --payout-rule renormalised.</summary>
    private static string TaskLine(int index, TaskOutcome o)
    {
        var al = o.Allocation;
        var st = o.Settlement;
        return JsonSerializer.Serialize(new
        {
            task = index,
            buyer = o.BuyerId,
            price = al.Price,
            bid = al.Bid,
            noise = al.NoiseScale,
            gain = al.Gain,
            revenue = al.Charge,
            permutations = st.Shapley.Permutations,
            retained = st.Split.Retained,
            shares = st.Split.Payouts.Select((p, m) => new { seller = p.SellerId, shapley = st.Shares[m], robust = p.Share, payout = p.Amount }),
        });
    }
}

/// <summary>A one-line progress bar redrawn in place on a terminal.</summary>
public sealed class ProgressBar(TextWriter writer, int total, string label = "Running market simulation")
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _lastWidth = -1;

    public void Report(int done)
    {
        const int width = 30;
        var filled = total == 0 ? width : done * width / total;
        if (filled == _lastWidth && done != total) return;
        _lastWidth = filled;
        var rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        writer.Write(string.Format(CultureInfo.InvariantCulture, "\r{7}: {0,3}% |{1}{2}| {3}/{4} [{5:0.0}s, {6:0.0} tasks/s]",
            total == 0 ? 100 : done * 100 / total, new string('#', filled), new string(' ', width - filled), done, total, _clock.Elapsed.TotalSeconds, rate, label));
    }

    public void Done() => writer.WriteLine();
}
