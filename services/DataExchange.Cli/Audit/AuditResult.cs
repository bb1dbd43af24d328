using DataExchange.Contracts;
using System.Globalization;

namespace DataExchange.Cli.Audit;

/// <summary>One compared field: what the events record and what the mechanism recomputes from the task's inputs and seeds.</summary>
public sealed record AuditCheck(string Field, string Recorded, string Recomputed, bool Agrees);

/// <summary>The task cannot be audited (unknown, not settled yet, or its inputs are incomplete).</summary>
public sealed class AuditUnavailableException(string message) : Exception(message);

/// <summary>The outcome of <c>dx audit task</c>: every compared field, the ones that disagree, and notes.</summary>
public sealed record TaskAuditResult(Guid TaskId, IReadOnlyList<AuditCheck> Checks, IReadOnlyList<string> Notes)
{
    public IReadOnlyList<AuditCheck> Differences => Checks.Where(c => !c.Agrees).ToList();
    public bool Passed => Checks.All(c => c.Agrees);

    public void Print(TextWriter w, bool differencesOnly = false)
    {
        w.WriteLine($"audit of task {TaskId}");
        foreach (var n in Notes) w.WriteLine($"  {n}");
        var shown = differencesOnly ? Differences : Checks;
        var width = Math.Max(5, shown.Select(c => c.Field.Length).DefaultIfEmpty(0).Max());
        if (shown.Count > 0) w.WriteLine($"  {"",-4}  {"field".PadRight(width)}  recorded | recomputed");
        foreach (var c in shown)
            w.WriteLine(c.Agrees
                ? $"  {"ok",-4}  {c.Field.PadRight(width)}  {c.Recorded}"
                : $"  {"DIFF",-4}  {c.Field.PadRight(width)}  {c.Recorded} | {c.Recomputed}");
        var d = Differences.Count;
        w.WriteLine(d == 0
            ? $"OK: all {Checks.Count} fields agree with the recomputation"
            : $"FAILED: {d} of {Checks.Count} fields differ from the recomputation");
    }
}

/// <summary>
/// The comparisons of an audit: doubles bit for bit (a zero's sign is not compared: a log written as jsonb numbers lost
/// it), decimals exactly, arrays element by element (the first few that differ, then a count).
/// </summary>
internal sealed class AuditChecks
{
    private const int MaxElementDifferences = 5;
    public List<AuditCheck> List { get; } = [];

    public void Same<T>(string field, T recorded, T recomputed) =>
        List.Add(new AuditCheck(field, Text(recorded), Text(recomputed), EqualityComparer<T>.Default.Equals(recorded, recomputed)));

    public void Double(string field, double recorded, double recomputed) =>
        List.Add(new AuditCheck(field, Format(recorded), Format(recomputed), SameBits(recorded, recomputed)));

    public void Decimal(string field, decimal recorded, decimal recomputed) =>
        List.Add(new AuditCheck(field, Format(recorded), Format(recomputed), recorded == recomputed));

    /// <summary>One line for an array that agrees; the differing elements (the first few, then a count) when it does not.</summary>
    public void Doubles(string field, double[]? recorded, double[] recomputed)
    {
        if (recorded is null || recorded.Length != recomputed.Length)
        {
            List.Add(new AuditCheck($"{field}.Length", recorded is null ? "(missing)" : recorded.Length.ToString(CultureInfo.InvariantCulture),
                recomputed.Length.ToString(CultureInfo.InvariantCulture), false));
            return;
        }
        var differing = Enumerable.Range(0, recorded.Length).Where(i => !SameBits(recorded[i], recomputed[i])).ToList();
        if (differing.Count == 0)
        {
            List.Add(new AuditCheck(field, $"{recorded.Length} values", $"{recomputed.Length} values", true));
            return;
        }
        foreach (var i in differing.Take(MaxElementDifferences))
            List.Add(new AuditCheck($"{field}[{i}]", Format(recorded[i]), Format(recomputed[i]), false));
        if (differing.Count > MaxElementDifferences)
            List.Add(new AuditCheck($"{field}[...]", $"{differing.Count - MaxElementDifferences} more values differ", "", false));
    }

    /// <summary>The task's fields as a later stage's event copied them from its TaskSubmitted (each field once per event).</summary>
    public void CopiedTask(string @event, TaskSubmitted submitted, string marketId, string buyerId, double bid, double[] target,
        long fromStep, string[] sellerIds, DateTimeOffset submittedAt)
    {
        Same($"{@event}.MarketId", marketId, submitted.MarketId);
        Same($"{@event}.BuyerId", buyerId, submitted.BuyerId);
        Double($"{@event}.Bid", bid, submitted.Bid);
        Doubles($"{@event}.Target", target, submitted.Target);
        Same($"{@event}.FromStep", fromStep, submitted.FromStep);
        Same($"{@event}.SellerIds", Ids(sellerIds), Ids(submitted.SellerIds));
        Same($"{@event}.SubmittedAt", submittedAt, submitted.SubmittedAt);
    }

    public static string Ids(IEnumerable<string> ids) => string.Join(",", ids);

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    internal static string Format(decimal v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Doubles are equal when their bits are (zeros of either sign are equal: jsonb stores numbers without a signed zero).</summary>
    internal static bool SameBits(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b) || (a == 0 && b == 0);

    private static string Text<T>(T value) => value switch
    {
        null => "(null)",
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
