using System.Globalization;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch payouts|results --since CURSOR | --from TIME</c>: where the catch-up starts, whose log it reads (a seller's
/// payment lines, a buyer's results) and with which key at which service. A subscriber's own output file (--output)
/// says where it got to: the catch-up then starts after the last cursor in it.
/// </summary>
internal sealed class CatchUpOptions
{
    private CatchUpOptions(string id, long after, DateTimeOffset? from, string url, string key)
    {
        Id = id;
        After = after;
        From = from;
        Url = url;
        Key = key;
    }

    public string Id { get; }
    public long After { get; }
    public DateTimeOffset? From { get; }
    public string Url { get; }
    public string Key { get; }

    /// <param name="o">The watch's options (--since, --from, the service's URL, --key).</param>
    /// <param name="role">Whose log: a seller's payment lines or a buyer's results.</param>
    /// <param name="id">The seller or buyer (--seller/--buyer, or the participant's own account).</param>
    /// <param name="resumeAfter">The last cursor in the subscriber's output file, if any.</param>
    /// <returns>Null when there is nothing to catch up from (no --since, --from, nor a cursor in the output file): live only.</returns>
    public static CatchUpOptions? Parse(System.CommandLine.ParseResult r, WatchOptions o, ParticipantRole role, string? id, long? resumeAfter)
    {
        var since = r.GetValue(o.Since);
        var from = r.GetValue(o.From);
        var service = o.Service;
        var url = r.UrlOf(o.Url, service.Env, service.Default);
        var key = r.GetValue(o.Key) ?? Environment.GetEnvironmentVariable("DX_API_KEY");
        if (since is null && from is null && resumeAfter is null) return null;
        var who = role == ParticipantRole.Seller ? "--seller" : "--buyer";
        if (since is not null && from is not null) throw new UsageException("--since and --from are alternatives: give one");
        if (id is null) throw new UsageException($"--since/--from need {who} ID (a catch-up reads one {role.ToString().ToLowerInvariant()}'s log with its key)");
        long after = 0;
        if (since is not null && !long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            throw new UsageException($"--since: '{since}' is not a cursor (a whole number at least 0, as printed after each line; 0 = from the beginning)");
        // Resuming from the output file: past what it already holds (the lines before its last cursor are all in it).
        if (resumeAfter is { } resume && resume > after)
        {
            after = resume;
            from = null;
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out _)) throw new UsageException($"{service.Option}: '{url}' is not an absolute URL");
        if (key is null)
        {
            // The operator can issue the participant's key from the market's secret; a participant passes its own.
            var keys = ParticipantKeys.FromEnvironment();
            if (!keys.Configured) throw new UsageException($"a catch-up needs the {role.ToString().ToLowerInvariant()}'s API key: --key KEY or DX_API_KEY (or DX_KEY_SECRET to issue it)");
            key = keys.Issue(role, id);
        }
        return new CatchUpOptions(id, after, from, url, key);
    }

    public HttpClient Http() => new() { BaseAddress = new Uri(Url.EndsWith('/') ? Url : Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
}
