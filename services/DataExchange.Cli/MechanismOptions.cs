using System.CommandLine;
using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary>
/// The mechanism's options of <c>dx simulate</c> and <c>dx market run</c> (the terms a market opens with), read one way:
/// --perms, --shapley-eps with --shapley-delta, --shapley-relative, --antithetic, --stratified, --exact-shapley, --lambda,
/// --payout-rule (or --renormalise), --similarity-threshold, --ridge, --integral-points, --fee, --expected-tasks, and the
/// paper's other settings --allocation (noise, sampling), --task (regression, classification), --similarity (cosine, hellinger).
/// </summary>
public sealed class MechanismOptions
{
    private static readonly MarketParameters D = MarketParameters.Default;
    private readonly Option<int> _perms = Opt.Int("--perms", D.ShapleyPermutations, 1, int.MaxValue, "Shapley permutations per task (PD_A*)");
    private readonly Option<double?> _eps = Opt.OptionalDouble("--shapley-eps", "with --shapley-delta D: sample until the max error < E w.p. 1 - D");
    private readonly Option<double?> _delta = Opt.OptionalDouble("--shapley-delta", "see --shapley-eps");
    private readonly Option<double?> _relative = Opt.OptionalDouble("--shapley-relative",
        "sample until every seller's standard error is at most R / M of the task's total gain (e.g. 0.05); reports K used");
    private readonly Option<bool> _antithetic = Opt.Flag("--antithetic", "permutations in antithetic pairs (each with its reverse)");
    private readonly Option<bool> _stratified = Opt.Flag("--stratified", "with --shapley-relative: sample positions instead of whole permutations");
    private readonly Option<bool> _exact = Opt.Flag("--exact-shapley", "exact Shapley over all coalitions (M <= 24) instead of Monte Carlo");
    private readonly Option<double> _lambda = Opt.Double("--lambda", D.RobustnessLambda, "PD_B*'s similarity penalty (default ln 2)");
    private readonly Option<string?> _rule = Opt.Text("--payout-rule", "RULE",
        $"how each charge is split: {string.Join(", ", PayoutRules.Names)} (README, \"Payout rules\"; default paper)");
    private readonly Option<bool> _renormalise = Opt.Flag("--renormalise", "the same as --payout-rule renormalised");
    private readonly Option<double> _threshold = Opt.Double("--similarity-threshold", D.SimilarityThreshold, "tau of the thresholded rule");
    private readonly Option<double> _ridge = Opt.Double("--ridge", D.RidgeAlpha, "ridge penalty on standardised features (0 = OLS)");
    private readonly Option<int> _points = Opt.Int("--integral-points", D.IntegralPoints, 2, int.MaxValue, "gain evaluations per RF*");
    private readonly Option<double> _fee = Opt.Double("--fee", 0, "the market's fee, a fraction of each charge");
    private readonly Option<int> _expected = Opt.Int("--expected-tasks", D.ExpectedTasks, 1, int.MaxValue,
        "N that sets the price grid and MWU rate (dx simulate: default the number of buyers)");
    private readonly Option<AllocationKind?> _allocation = Opt.Setting<AllocationKind>("--allocation",
        "how AF* degrades the data for a bid below the price: noise (default) X + max(0, p - b) sigma E (Ex. 4.1), or sampling (Ex. 4.2)");
    private readonly Option<TaskKind?> _task = Opt.Setting<TaskKind>("--task",
        "regression (default), or classification: targets are class labels (synthetic buyers cut into --classes classes by quantile)");
    private readonly Option<SimilarityKind?> _similarity = Opt.Setting<SimilarityKind>("--similarity",
        "PD_B*'s SM: cosine (|cos|, default) or hellinger (1 - Hellinger distance of the sellers' Gaussian fits, Ex. 4.4)");

    private Option[] All => [_perms, _eps, _delta, _relative, _antithetic, _stratified, _exact, _lambda, _rule, _renormalise, _threshold, _ridge,
        _points, _fee, _expected, _allocation, _task, _similarity];

    public Command AddTo(Command command) => command.With(All);

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

    public Parsed Parse(ParseResult r)
    {
        var eps = r.GetValue(_eps);
        var relative = r.GetValue(_relative);
        if ((eps is null) != (r.GetValue(_delta) is null)) throw new UsageException("--shapley-eps and --shapley-delta go together");
        if (relative is not null && eps is not null) throw new UsageException("--shapley-relative takes the place of --shapley-eps/--shapley-delta");
        var parameters = D with
        {
            ShapleyPermutations = r.GetValue(_perms),
            ShapleyTarget = eps is { } e ? new ShapleyAccuracy(e, r.GetValue(_delta)!.Value) : null,
            ShapleyRelativeError = relative,
            ShapleyAntithetic = r.GetValue(_antithetic),
            ShapleyStratified = r.GetValue(_stratified),
            ExactShapley = r.GetValue(_exact),
            RobustnessLambda = r.GetValue(_lambda),
            PayoutRule = ParseRule(r.GetValue(_rule), r.GetValue(_renormalise)),
            SimilarityThreshold = r.GetValue(_threshold),
            RidgeAlpha = r.GetValue(_ridge),
            IntegralPoints = r.GetValue(_points),
            MarketFeeRate = (decimal)r.GetValue(_fee),
            ExpectedTasks = r.GetValue(_expected),
            Allocation = r.GetValue(_allocation) ?? D.Allocation,
            TaskKind = r.GetValue(_task) ?? D.TaskKind,
            Similarity = r.GetValue(_similarity) ?? D.Similarity,
        };
        return new Parsed(parameters, All.Any(r.Given), r.Given(_expected));
    }

    /// <summary>--payout-rule NAME; --renormalise is kept as another spelling of --payout-rule renormalised.</summary>
    internal static PayoutRule ParseRule(string? name, bool renormalise)
    {
        if (name is null) return renormalise ? PayoutRule.Renormalised : D.PayoutRule;
        var rule = PayoutRuleNamed(name, "--payout-rule");
        if (renormalise && rule != PayoutRule.Renormalised)
            throw new UsageException($"--renormalise means --payout-rule renormalised, not {PayoutRules.Name(rule)}");
        return rule;
    }

    internal static PayoutRule PayoutRuleNamed(string name, string option)
    {
        try { return PayoutRules.Parse(name); }
        catch (ArgumentException) { throw new UsageException($"{option}: '{name}' is not a payout rule (one of {string.Join(", ", PayoutRules.Names)})"); }
    }
}
