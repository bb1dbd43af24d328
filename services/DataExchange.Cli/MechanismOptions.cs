using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary>
/// The mechanism's options of <c>dx simulate</c> and <c>dx market run</c> (the terms a market opens with), read one way:
/// --perms, --shapley-eps with --shapley-delta, --shapley-relative, --antithetic, --stratified, --exact-shapley, --lambda,
/// --payout-rule (or --renormalise), --similarity-threshold, --ridge, --integral-points, --fee, --expected-tasks, and the
/// paper's other settings --allocation (noise, sampling), --task (regression, classification), --similarity (cosine, hellinger).
/// </summary>
public static class MechanismOptions
{
    public static readonly string[] Flags = ["--antithetic", "--stratified", "--exact-shapley", "--renormalise"];

    /// <summary>What the options say, whether any was given, and whether --expected-tasks was (its default is the caller's).</summary>
    public sealed record Parsed(MarketParameters Parameters, bool AnyGiven, bool ExpectedTasksGiven)
    {
        /// <summary>The parameters with the caller's N when --expected-tasks was not given, validated (errors name the option).</summary>
        public MarketParameters Validated(int defaultExpectedTasks)
        {
            var p = ExpectedTasksGiven ? Parameters : Parameters with { ExpectedTasks = defaultExpectedTasks };
            try { return p.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new UsageException($"{e.ParamName}: {e.Message.Split(" (Parameter")[0]}"); }
        }
    }

    public static Parsed Parse(Arguments a)
    {
        var d = MarketParameters.Default;
        string[] names = ["--perms", "--shapley-eps", "--shapley-delta", "--shapley-relative", "--lambda", "--payout-rule", "--similarity-threshold",
            "--ridge", "--integral-points", "--fee", "--expected-tasks", "--allocation", "--task", "--similarity"];
        var given = names.Where(n => a.String(n) is not null).ToHashSet();
        var exact = a.Flag("--exact-shapley");
        var antithetic = a.Flag("--antithetic");
        var stratified = a.Flag("--stratified");
        var renormalise = a.Flag("--renormalise");
        if (given.Contains("--shapley-eps") != given.Contains("--shapley-delta")) throw new UsageException("--shapley-eps and --shapley-delta go together");
        if (given.Contains("--shapley-relative") && given.Contains("--shapley-eps"))
            throw new UsageException("--shapley-relative takes the place of --shapley-eps/--shapley-delta");
        var parameters = d with
        {
            ShapleyPermutations = a.Int("--perms", d.ShapleyPermutations, 1),
            ShapleyTarget = given.Contains("--shapley-eps") ? new ShapleyAccuracy(a.Double("--shapley-eps", 0), a.Double("--shapley-delta", 0)) : null,
            ShapleyRelativeError = given.Contains("--shapley-relative") ? a.Double("--shapley-relative", 0) : null,
            ShapleyAntithetic = antithetic,
            ShapleyStratified = stratified,
            ExactShapley = exact,
            RobustnessLambda = a.Double("--lambda", d.RobustnessLambda),
            PayoutRule = ParseRule(a.String("--payout-rule"), renormalise),
            SimilarityThreshold = a.Double("--similarity-threshold", d.SimilarityThreshold),
            RidgeAlpha = a.Double("--ridge", d.RidgeAlpha),
            IntegralPoints = a.Int("--integral-points", d.IntegralPoints, 2),
            MarketFeeRate = (decimal)a.Double("--fee", 0),
            ExpectedTasks = a.Int("--expected-tasks", d.ExpectedTasks, 1),
            Allocation = Setting(a, "--allocation", d.Allocation),
            TaskKind = Setting(a, "--task", d.TaskKind),
            Similarity = Setting(a, "--similarity", d.Similarity),
        };
        return new Parsed(parameters, given.Count > 0 || exact || antithetic || stratified || renormalise, given.Contains("--expected-tasks"));
    }

    private static T Setting<T>(Arguments a, string option, T fallback) where T : struct, Enum =>
        a.String(option) is not { } name ? fallback
            : SettingNames.TryParse<T>(name, out var value) ? value
            : throw new UsageException($"{option}: '{name}' is not one of {string.Join(", ", SettingNames.Names<T>())}");

    internal static PayoutRule ParseRule(string? name, bool renormalise)
    {
        if (name is null) return renormalise ? PayoutRule.Renormalised : MarketParameters.Default.PayoutRule;
        PayoutRule rule;
        try { rule = PayoutRules.Parse(name); }
        catch (ArgumentException) { throw new UsageException($"--payout-rule: '{name}' is not a payout rule (one of {string.Join(", ", PayoutRules.Names)})"); }
        if (renormalise && rule != PayoutRule.Renormalised)
            throw new UsageException($"--renormalise means --payout-rule renormalised, not {PayoutRules.Name(rule)}");
        return rule;
    }
}
