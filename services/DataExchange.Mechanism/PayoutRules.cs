namespace DataExchange.Mechanism;

/// <summary>The rules' names as the command line and recorded terms spell them.</summary>
public static class PayoutRules
{
    public static IReadOnlyList<PayoutRule> All { get; } = Enum.GetValues<PayoutRule>();

    public static IReadOnlyList<string> Names { get; } = All.Select(Name).ToArray();

    /// <summary>"paper", "renormalised", "thresholded", "interventional" or "interventional-mse".</summary>
    public static string Name(PayoutRule rule) => rule switch
    {
        PayoutRule.InterventionalMse => "interventional-mse",
        _ => rule.ToString().ToLowerInvariant(),
    };

    /// <summary>Whether the rule pays the whole net charge out (balanced) rather than retaining PD_B*'s withheld part.</summary>
    public static bool PaysAll(PayoutRule rule) => rule is PayoutRule.Renormalised or PayoutRule.Interventional or PayoutRule.InterventionalMse;

    /// <summary>A rule by name, any case; ArgumentException naming the rules when there is no such rule.</summary>
    public static PayoutRule Parse(string name) => TryParse(name, out var rule) ? rule
        : throw new ArgumentException($"'{name}' is not a payout rule (one of {string.Join(", ", Names)}).", nameof(name));

    public static bool TryParse(string name, out PayoutRule rule)
    {
        foreach (var r in All)
        {
            if (!string.Equals(Name(r), name, StringComparison.OrdinalIgnoreCase)) continue;
            rule = r;
            return true;
        }
        rule = default;
        return false;
    }
}
