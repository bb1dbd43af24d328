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
