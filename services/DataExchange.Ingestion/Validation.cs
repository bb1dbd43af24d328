using DataExchange.Contracts;
using DataExchange.Mechanism;

namespace DataExchange.Ingestion;

/// <summary>One problem with an input: the field (a JSON path such as target[17]) and why it is refused.</summary>
public sealed record InputProblem(string Field, string Reason);

/// <summary>Checks shared by the bus and HTTP; each returns the first problem, or null.</summary>
public static class Validation
{
    public static InputProblem? Id(string field, string? id) => MarketLimits.IdProblem(id) is { } reason ? new(field, reason) : null;

    public static InputProblem? Series(string field, double[]? values, int minLength)
    {
        if (values is null) return new(field, "is missing");
        if (values.Length == 0) return new(field, "is empty");
        if (values.Length < minLength) return new(field, $"has {values.Length} values, at least {minLength} are needed");
        if (values.Length > MarketLimits.MaxSeriesLength) return new(field, $"has {values.Length} values, at most {MarketLimits.MaxSeriesLength} are accepted");
        for (var t = 0; t < values.Length; t++)
            if (!double.IsFinite(values[t])) return new($"{field}[{t}]", $"is {values[t]}, not a finite number");
        return null;
    }

    public static InputProblem? Task(SubmitPredictionTask t)
    {
        if (t.TaskId == Guid.Empty) return new("taskId", "is missing or the empty id");
        if (t.Seed is not null) return new("seed", "must be absent: the market draws each task's randomness itself");
        if (Id("buyerId", t.BuyerId) is { } p) return p;
        if (t.MarketId is not null && Id("marketId", t.MarketId) is { } mp) return mp;
        if (double.IsNaN(t.Bid) || double.IsInfinity(t.Bid)) return new("bid", $"is {t.Bid}, not a finite number");
        if (t.Bid <= 0) return new("bid", $"is {t.Bid}; a bid must be above 0");
        if (t.Bid > MarketLimits.MaxBid) return new("bid", $"is {t.Bid}; bids above {MarketLimits.MaxBid} are refused as absurd");
        if (t.FromStep < 0) return new("fromStep", $"is {t.FromStep}; it must be 0 or more");
        if (t.Kind is not (null or TaskKinds.Regression or TaskKinds.Classification))
            return new("kind", $"is '{t.Kind}'; a task is '{TaskKinds.Regression}' (the default) or '{TaskKinds.Classification}'");
        if (Series("target", t.Target, MarketLimits.MinSeriesLength) is { } series) return series;
        if (t.Kind == TaskKinds.Classification && Classification.LabelProblem(t.Target) is { } labels)
            return new(labels.Index < 0 ? "target" : $"target[{labels.Index}]", labels.Reason);
        return null;
    }
}
