using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary><c>dx simulate</c>: the whole market in process, task after task, as the seed report ran it.</summary>
public static class SimulateCommand
{
    /// <summary>The scenario's options, shared with <c>dx market run</c> (there --seed makes only the data).</summary>
    internal sealed class ScenarioOptions(int maxSteps, int minSteps)
    {
        public readonly Option<string?> Market = Opt.Text("--market", "FILE", "sellers and buyers from a JSON file instead of a synthetic market");
        public readonly Option<ulong> Seed = Opt.ULong("--seed", 42, "market seed: the data, prices, noise and permutations");
        public readonly Option<int> Sellers = Opt.Int("--sellers", 20, 1, 1000, "synthetic market: number of sellers");
        public readonly Option<int> Steps = Opt.Int("--steps", 400, minSteps, maxSteps, "synthetic market: length of every series");
        public readonly Option<double> MuMin = Opt.Double("--mu-min", 1.0, "synthetic market: valuations mu ~ U[mu-min, mu-max]");
        public readonly Option<double> MuMax = Opt.Double("--mu-max", 2.0, "see --mu-min");
        public readonly Option<int> Classes = Opt.Int("--classes", 3, 2, Classification.MaxClasses, "with --task classification: classes the synthetic targets are cut into");

        public Command AddTo(Command c) => c.With(Market, Seed, Sellers, Steps, MuMin, MuMax, Classes);

        /// <summary>The market file, or the synthetic market with <paramref name="buyers"/> buyers.</summary>
        public MarketScenario Load(ParseResult r, int buyers) => r.GetValue(Market) is { } path
            ? MarketFile.Load(path)
            : SyntheticMarket.Generate(r.GetValue(Sellers), r.GetValue(Steps), buyers, r.GetValue(Seed), r.GetValue(MuMin), r.GetValue(MuMax));
    }

    public static Command Create()
    {
        var scenario = new ScenarioOptions(10_000_000, 4);
        var buyers = Opt.Int("--buyers", 120, 0, 10_000_000, "synthetic market: number of buyer tasks");
        var mechanism = new MechanismOptions();
        var json = Opt.Flag("--json", "one JSON line per task, then a summary line");
        var noProgress = Opt.Flag("--no-progress", "no progress bar even on a terminal");
        var top = Opt.Int("--top", 5, 0, int.MaxValue, "sellers listed in the summary");
        var threads = Opt.Int("--threads", MarketParameters.Default.Parallelism, 1, 1024,
            $"threads a task's large parts may use from {MarketParameters.ParallelMinSellers} sellers on (default: the processor count; 1 = sequential; the same results either way)");
        var command = new Command("simulate", "run a whole market in process (the mechanism library, no servers)");
        mechanism.AddTo(scenario.AddTo(command)).With(buyers, json, noProgress, top, threads);
        command.SetAction(r =>
        {
            var terms = mechanism.Parse(r);
            return Run(r, scenario.Load(r, r.GetValue(buyers)), r.GetValue(scenario.Market) is not null, r.GetValue(scenario.Seed), terms,
                r.GetValue(scenario.Classes), r.GetValue(json), r.GetValue(noProgress), r.GetValue(top), r.GetValue(threads));
        });
        return command;
    }

    private static int Run(ParseResult r, MarketScenario scenario, bool fromFile, ulong seed, MechanismOptions.Parsed mechanism, int classes, bool json,
        bool noProgress, int top, int threads)
    {
        var (stdout, stderr) = (r.Out(), r.Err());
        // N defaults to the number of buyers here (the services' default, 120, is the seed scenario's).
        var parameters = mechanism.Validated(Math.Max(1, scenario.Buyers.Count)) with { Parallelism = threads };
        scenario = MarketFile.ForTaskKind(scenario, parameters.TaskKind, classes, fromFile);
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
