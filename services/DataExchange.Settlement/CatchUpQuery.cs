using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace DataExchange.Settlement;

// Catch-up for participants who were not listening: every payment line and every buyer's result, in the order of the
// service's own log, each with a cursor. The projection daemon commits its documents page after page in log order, so a
// reader always sees a prefix of the log: a line with a smaller cursor can never appear after one with a larger cursor
// was served, and "after = the last cursor I saw" never skips a line.

/// <summary>
/// The query of a catch-up request: <c>after=CURSOR</c> (a cursor this endpoint gave out; 0 = from the beginning) or
/// <c>from=ISO-8601</c> (the first line at or after that time), and <c>limit=N</c>. Bad values are refused by field.
/// </summary>
public sealed record CatchUpQuery(long After, DateTimeOffset? From, int Limit)
{
    /// <summary>
    /// The cursor the next page starts after: the page's last one; with nothing found, where the caller was, or for a
    /// time with nothing at or after it yet, the newest there is (everything there now is older).
    /// </summary>
    public async Task<long> NextAsync(long? lastOnPage, Func<Task<long?>> newest) =>
        lastOnPage ?? (From is null ? After : await newest() ?? 0);

    /// <summary>Whether the request asks for a catch-up page at all (any of after, from, limit).</summary>
    public static bool Asked(HttpRequest request) =>
        request.Query.ContainsKey("after") || request.Query.ContainsKey("from") || request.Query.ContainsKey("limit");

    /// <summary>The query, or the 400 answer naming the field that is wrong.</summary>
    public static (CatchUpQuery? Query, IResult? Problem) Parse(HttpRequest request, int defaultLimit, int maxLimit)
    {
        var q = request.Query;
        long after = 0;
        DateTimeOffset? from = null;
        var limit = defaultLimit;
        if (q.TryGetValue("after", out var a))
        {
            if (a.Count != 1 || !long.TryParse(a[0], NumberStyles.None, CultureInfo.InvariantCulture, out after))
                return (null, Problem("after", $"'{a}' is not a cursor (a whole number at least 0 from an earlier page's 'next' or a line's 'cursor')"));
        }
        if (q.TryGetValue("from", out var f))
        {
            if (a.Count > 0) return (null, Problem("from", "give either after or from, not both"));
            if (f.Count != 1 || !DateTimeOffset.TryParse(f[0], CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
                return (null, Problem("from", $"'{f}' is not an ISO-8601 date or time (e.g. 2026-12-01T12:00:00Z)"));
            from = time;
        }
        if (q.TryGetValue("limit", out var l))
        {
            if (l.Count != 1 || !int.TryParse(l[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit)
                return (null, Problem("limit", $"'{l}' is not a whole number in [1, {maxLimit}]"));
        }
        return (new CatchUpQuery(after, from, limit), null);
    }

    private static IResult Problem(string field, string reason) => Results.ValidationProblem(
        new Dictionary<string, string[]> { [field] = [reason] }, detail: $"{field}: {reason}", title: "The request was refused");
}
