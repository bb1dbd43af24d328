using System.Text.Json;
using DataExchange.Mechanism;

namespace DataExchange.Cli;

/// <summary>A market file could not be used; the message names the field (as a JSON path) and the reason.</summary>
public sealed class MarketFileException(string field, string reason) : Exception($"{field}: {reason}")
{
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}

/// <summary>
/// Reads <c>{"sellers":[{"id":"s1","values":[...T]}],"buyers":[{"id":"b1","bid":1.3,"target":[...T]}]}</c>.
/// Every problem is reported with its field path; unknown fields are refused rather than silently ignored.
/// </summary>
public static class MarketFile
{
    /// <summary>
    /// The scenario for a market of this task kind: a market file's targets must already be class labels for
    /// classification (refused with the buyer's field otherwise); a generated scenario's series become labels by quantile.
    /// </summary>
    public static MarketScenario ForTaskKind(MarketScenario scenario, TaskKind kind, int classes, bool fromFile)
    {
        if (kind != TaskKind.Classification) return scenario;
        if (!fromFile) return SyntheticMarket.WithClassLabels(scenario, classes);
        for (var n = 0; n < scenario.Buyers.Count; n++)
            if (Classification.LabelProblem(scenario.Buyers[n].Target) is { } problem)
                throw new MarketFileException(problem.Index < 0 ? $"$.buyers[{n}].target" : $"$.buyers[{n}].target[{problem.Index}]", problem.Reason);
        return scenario;
    }

    public static MarketScenario Load(string path)
    {
        if (!File.Exists(path)) throw new MarketFileException("--market", $"file '{path}' does not exist");
        using var stream = File.OpenRead(path);
        return Parse(stream);
    }

    public static MarketScenario Parse(Stream json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new MarketFileException("$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message.Split('.')[0]}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new MarketFileException("$", "must be an object with 'sellers' and 'buyers'");
            Only(root, "$", "sellers", "buyers");
            var sellers = Array(root, "$", "sellers");
            var buyers = Array(root, "$", "buyers");
            if (sellers.GetArrayLength() == 0) throw new MarketFileException("$.sellers", "must list at least one seller");

            var ids = new List<string>();
            var rows = new List<double[]>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var steps = -1;
            var i = 0;
            foreach (var s in sellers.EnumerateArray())
            {
                var at = $"$.sellers[{i}]";
                if (s.ValueKind != JsonValueKind.Object) throw new MarketFileException(at, "must be an object with 'id' and 'values'");
                Only(s, at, "id", "values");
                var id = Id(s, at);
                if (!seen.Add(id)) throw new MarketFileException($"{at}.id", $"'{id}' is a duplicate seller id");
                var values = Series(s, at, "values");
                if (steps < 0) steps = values.Length;
                else if (values.Length != steps)
                    throw new MarketFileException($"{at}.values", $"has {values.Length} values, but $.sellers[0].values has {steps}");
                ids.Add(id);
                rows.Add(values);
                i++;
            }
            if (steps < 4) throw new MarketFileException("$.sellers[0].values", $"has {steps} values; at least 4 are needed to train and score");

            var list = new List<SyntheticBuyer>();
            var buyerIds = new HashSet<string>(StringComparer.Ordinal);
            i = 0;
            foreach (var b in buyers.EnumerateArray())
            {
                var at = $"$.buyers[{i}]";
                if (b.ValueKind != JsonValueKind.Object) throw new MarketFileException(at, "must be an object with 'id', 'bid' and 'target'");
                Only(b, at, "id", "bid", "target");
                var id = Id(b, at);
                if (!buyerIds.Add(id)) throw new MarketFileException($"{at}.id", $"'{id}' is a duplicate buyer id");
                if (!b.TryGetProperty("bid", out var bidElement)) throw new MarketFileException($"{at}.bid", "is missing");
                if (bidElement.ValueKind != JsonValueKind.Number || !bidElement.TryGetDouble(out var bid))
                    throw new MarketFileException($"{at}.bid", $"must be a number, not {bidElement.ValueKind.ToString().ToLowerInvariant()}");
                if (!double.IsFinite(bid) || bid <= 0) throw new MarketFileException($"{at}.bid", $"must be above 0 (got {bid})");
                var target = Series(b, at, "target");
                if (target.Length != steps)
                    throw new MarketFileException($"{at}.target", $"has {target.Length} values, but the sellers' series have {steps}");
                list.Add(new SyntheticBuyer(id, bid, target));
                i++;
            }
            return new MarketScenario(new FeatureSet(ids, rows), list);
        }
    }

    private static void Only(JsonElement obj, string at, params string[] allowed)
    {
        foreach (var p in obj.EnumerateObject())
            if (System.Array.IndexOf(allowed, p.Name) < 0)
                throw new MarketFileException($"{at}.{p.Name}", $"is not a known field (expected {string.Join(", ", allowed)})");
    }

    private static JsonElement Array(JsonElement obj, string at, string name)
    {
        if (!obj.TryGetProperty(name, out var e)) throw new MarketFileException($"{at}.{name}", "is missing");
        if (e.ValueKind != JsonValueKind.Array) throw new MarketFileException($"{at}.{name}", "must be an array");
        return e;
    }

    private static string Id(JsonElement obj, string at)
    {
        if (!obj.TryGetProperty("id", out var e)) throw new MarketFileException($"{at}.id", "is missing");
        if (e.ValueKind != JsonValueKind.String) throw new MarketFileException($"{at}.id", "must be a string");
        var id = e.GetString()!;
        if (string.IsNullOrWhiteSpace(id)) throw new MarketFileException($"{at}.id", "must not be empty");
        return id;
    }

    private static double[] Series(JsonElement obj, string at, string name)
    {
        var arr = Array(obj, at, name);
        var values = new double[arr.GetArrayLength()];
        var t = 0;
        foreach (var v in arr.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
                throw new MarketFileException($"{at}.{name}[{t}]", $"must be a finite number, not {(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.ValueKind.ToString().ToLowerInvariant())}");
            values[t++] = d;
        }
        return values;
    }
}
