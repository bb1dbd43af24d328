using System.Globalization;
using DataExchange.Mechanism;

namespace DataExchange.Benchmarks;

/// <summary>
/// `dotnet run -c Release -- --permutations-needed`: how many permutations each sampler needs for the relative target
/// (every seller's standard error at most r / M of the total gain), from the error it makes at a fixed K: the variance
/// of a Monte Carlo mean falls as 1/K, so K_needed = K max_j MSE_j(K) / target^2. Against exact Shapley at M = 20,
/// against a long antithetic run at M = 200 (its own error, MSE / 10 or less, is included: a slight overstatement).
/// Counts, not times: the same on any machine and under any load.
/// </summary>
public static class PermutationsNeeded
{
    public static void Run(TextWriter o)
    {
        const double r = 0.05;
        Report(o, sellers: 20, steps: 400, tasks: 6, k: 200, repeats: 40, referenceK: 0, r);
        Report(o, sellers: 200, steps: 400, tasks: 2, k: 400, repeats: 8, referenceK: 32_000, r);
    }

    /// <summary>
    /// `--stratified-needed`: the stratified sampler run to the relative target r = 0.05 (Shapley.UntilRelativeStratified),
    /// its work in whole-permutation walks and the RMS error it reached over repeats, as a ratio to the target: against
    /// exact Shapley at M = 20; at M = 200 against a stratified run to r = 0.01 (its own error, a fifth of the target,
    /// is included: a slight overstatement).
    /// </summary>
    public static void RunStratified(TextWriter o)
    {
        const double r = 0.05;
        foreach (var (sellers, steps, tasks, repeats) in new[] { (20, 400, 6, 20), (200, 400, 2, 8), (200, 4000, 1, 6) })
        {
            var scenario = SyntheticMarket.Generate(sellers, steps, tasks, 42);
            var p = MarketParameters.Default;
            foreach (var (buyer, t) in scenario.Buyers.Select((b, t) => (b, t)))
            {
                var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, (ulong)(100 + t), p);
                var reference = sellers <= 20 ? Shapley.Exact(gains, 0.0).Values : Shapley.UntilRelativeStratified(gains, 0.0, r / 5, 999_999).Values;
                var total = Math.Max(Math.Abs(reference.Sum()), Shapley.RelativeMinTotal);
                var target = r * total / sellers;
                var mse = new double[sellers];
                double work = 0, walks = 0;
                for (var rep = 0; rep < repeats; rep++)
                {
                    var e = Shapley.UntilRelativeStratified(gains, 0.0, r, (ulong)(7919 * rep + 1));
                    work += e.Work / repeats;
                    walks += (double)e.Permutations / repeats;
                    for (var j = 0; j < sellers; j++) mse[j] += (e.Values[j] - reference[j]) * (e.Values[j] - reference[j]) / repeats;
                }
                o.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "M = {0}, T = {1}, task {2} ({3}): stratified to r = {4}: work {5:N0} whole walks ({6:N0} walks), worst RMS error {7:F2} of the target",
                    sellers, steps, t, sellers <= 20 ? "exact" : "reference r = 0.01", r, work, walks, Math.Sqrt(mse.Max()) / target));
            }
        }
    }

    private static void Report(TextWriter o, int sellers, int steps, int tasks, int k, int repeats, int referenceK, double r)
    {
        var scenario = SyntheticMarket.Generate(sellers, steps, tasks, 42);
        var p = MarketParameters.Default;
        foreach (var (buyer, t) in scenario.Buyers.Select((b, t) => (b, t)))
        {
            var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, (ulong)(100 + t), p);
            var reference = referenceK == 0 ? Shapley.Exact(gains, 0.0).Values
                : Shapley.MonteCarlo(gains, 0.0, referenceK, 999_999, antithetic: true).Values;
            var total = Math.Max(Math.Abs(reference.Sum()), Shapley.RelativeMinTotal);
            var target = r * total / sellers;
            var line = string.Format(CultureInfo.InvariantCulture, "M = {0}, task {1} ({2}, total gain {3:F4}, target SE {4:E2}):",
                sellers, t, referenceK == 0 ? "exact" : $"reference K = {referenceK}", total, target);
            foreach (var antithetic in new[] { false, true })
            {
                var mse = new double[sellers];
                for (var rep = 0; rep < repeats; rep++)
                {
                    var e = Shapley.MonteCarlo(gains, 0.0, k, (ulong)(7919 * rep + 1), antithetic).Values;
                    for (var j = 0; j < sellers; j++) mse[j] += (e[j] - reference[j]) * (e[j] - reference[j]) / repeats;
                }
                var needed = k * mse.Max() / (target * target);
                line += string.Format(CultureInfo.InvariantCulture, " {0} {1:N0}", antithetic ? "antithetic" : "independent", needed);
            }
            o.WriteLine(line);
        }
    }
}
