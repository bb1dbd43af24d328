using System.Globalization;
using System.Text;
using DataExchange.Mechanism;
using static DataExchange.Cli.PayoutRulesCommand;

namespace DataExchange.Cli;

/// <summary>The two tables of <c>dx payout-rules</c>, in Markdown (README pastes them as they are).</summary>
public static class PayoutRulesTable
{
    public sealed record Setup(int Sellers, int Steps, int Buyers, ulong Seed, int Perms, int ExactTasks, int CopySellers, int CopyTasks, ulong CopySeed, MarketParameters Parameters);

    public static string Render(IReadOnlyList<SeedScenarioRow> seedRows, CopyStudyResult study, Setup setup)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(string.Format(inv, "Seed scenario: M = {0}, T = {1}, N = {2}, seed {3}, K = {4} permutations (the dx simulate defaults); lambda = {5:0.####}, tau = {6}.",
            setup.Sellers, setup.Steps, setup.Buyers, setup.Seed, setup.Perms, setup.Parameters.RobustnessLambda, setup.Parameters.SimilarityThreshold));
        sb.AppendLine(string.Format(inv, "Copies: {0} tasks on a market of {1} sellers (T = {2}, seed {3}; {4} sellers with 4 copies), exact Shapley, charge held at {5}; the copier is the seller with the largest PD_A* share.",
            study.Tasks, setup.CopySellers, setup.Steps, setup.CopySeed, setup.CopySellers + CopyCounts.Max(), StudyCharge));
        sb.AppendLine();
        var exactHeader = setup.ExactTasks > 0 ? string.Format(inv, " exact settlement, M = {0} (ms, {1} tasks) |", setup.Sellers, setup.ExactTasks) : "";
        sb.AppendLine($"| rule | paid to sellers (seed) | ms per task (K = {setup.Perms}) |{exactHeader} exact copies |");
        sb.AppendLine("|---|---:|---:|" + (setup.ExactTasks > 0 ? "---:|" : "") + "---|");
        foreach (var row in seedRows)
        {
            var paid = row.Charged == 0 ? 0.0 : (double)(row.Paid / row.Charged);
            var exact = row.ExactSettleMs is { } ms ? string.Format(inv, " {0:0.0} |", ms) : setup.ExactTasks > 0 ? " - |" : "";
            sb.AppendLine(string.Format(inv, "| {0} | {1:0.0} % ({2:0.0000} of {3:0.0000}) | {4:0.00} |{5} {6} |",
                PayoutRules.Name(row.Rule), 100 * paid, row.Paid, row.Charged, row.MsPerTask, exact, Verdict(study, row.Rule)));
        }
        sb.AppendLine();
        sb.AppendLine(string.Format(inv, "The copier's payout with copies over its payout without, summed over the {0} tasks (in brackets: the tasks in which copying raised it):", study.Tasks));
        sb.AppendLine();
        sb.AppendLine("| rule | copies' noise (of the series' s.d.) | " + string.Join(" | ", CopyCounts.Select(CopiesText)) + " |");
        sb.AppendLine("|---|---|" + string.Concat(CopyCounts.Select(_ => "---:|")));
        foreach (var rule in seedRows.Select(r => r.Rule))
            foreach (var noise in study.Results.Select(r => r.Noise).Distinct().Order())
            {
                var cells = CopyCounts.Select(c => study.Results.Single(r => r.Rule == rule && r.Noise == noise && r.Copies == c))
                    .Select(r => string.Format(inv, "{0:0.000} ({1})", r.Ratio, r.Raised));
                sb.AppendLine($"| {PayoutRules.Name(rule)} | {(noise == 0 ? "exact" : noise.ToString(inv))} | {string.Join(" | ", cells)} |");
            }
        return sb.ToString();
    }

    /// <summary>Whether exact copies raise the copier's total: on average over the tasks, and in how many tasks.</summary>
    public static string Verdict(CopyStudyResult study, PayoutRule rule)
    {
        var inv = CultureInfo.InvariantCulture;
        var exact = study.Results.Where(r => r.Rule == rule && r.Noise == 0 && r.Tasks > 0).OrderBy(r => r.Copies).ToList();
        if (exact.Count == 0) return "-";
        var worst = exact.MaxBy(r => r.Ratio)!;
        var raised = exact.Max(r => r.Raised);
        var n = worst.Tasks;
        if (worst.Ratio > 1.0)
            return string.Format(inv, "REWARDED: x{0:0.000} with {1}, raised in up to {2} of {3} tasks", worst.Ratio, CopiesText(worst.Copies), raised, n);
        return raised == 0
            ? string.Format(inv, "never rewarded: at most x{0:0.000}, raised in no task", worst.Ratio)
            : string.Format(inv, "not on the whole: at most x{0:0.000}, but raised in up to {1} of {2} tasks", worst.Ratio, raised, n);
    }

    private static string CopiesText(int copies) => copies == 1 ? "1 copy" : $"{copies} copies";
}
