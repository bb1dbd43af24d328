using System.Globalization;
using DataExchange.Cli.Market;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch payouts --since CURSOR | --from TIME</c>: where the catch-up starts, and the seller's key and the payout
/// service's address to read it with.
/// </summary>
internal sealed class PayoutCatchUpOptions
{
    private PayoutCatchUpOptions(string seller, long after, DateTimeOffset? from, string payoutUrl, string key)
    {
        Seller = seller;
        After = after;
        From = from;
        PayoutUrl = payoutUrl;
        Key = key;
    }

    public string Seller { get; }
    public long After { get; }
    public DateTimeOffset? From { get; }
    public string PayoutUrl { get; }
    public string Key { get; }

    /// <summary>Null when neither --since nor --from is given (live only).</summary>
    public static PayoutCatchUpOptions? Parse(Arguments a, string? seller)
    {
        var since = a.String("--since");
        var fromText = a.String("--from");
        var payout = a.String("--payout") ?? Environment.GetEnvironmentVariable("DX_PAYOUT_URL") ?? "http://127.0.0.1:5083";
        var key = a.String("--key") ?? Environment.GetEnvironmentVariable("DX_API_KEY");
        if (since is null && fromText is null) return null;
        if (since is not null && fromText is not null) throw new UsageException("--since and --from are alternatives: give one");
        if (seller is null) throw new UsageException("--since/--from need --seller ID (a catch-up reads one seller's lines with its key)");
        long after = 0;
        if (since is not null && !long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out after))
            throw new UsageException($"--since: '{since}' is not a cursor (a whole number at least 0, as printed after each line; 0 = from the beginning)");
        DateTimeOffset? from = null;
        if (fromText is not null)
        {
            if (!DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
                throw new UsageException($"--from: '{fromText}' is not an ISO-8601 date or time (e.g. 2026-12-01T12:00:00Z)");
            from = t;
        }
        if (!Uri.TryCreate(payout, UriKind.Absolute, out _)) throw new UsageException($"--payout: '{payout}' is not an absolute URL");
        if (key is null)
        {
            // The operator can issue the seller's key from the market's secret; a seller passes its own.
            var keys = ParticipantKeys.FromEnvironment();
            if (!keys.Configured) throw new UsageException("--since/--from need the seller's API key: --key KEY or DX_API_KEY (or DX_KEY_SECRET to issue it)");
            key = keys.Issue(ParticipantRole.Seller, seller);
        }
        return new PayoutCatchUpOptions(seller, after, from, payout, key);
    }

    /// <summary>Pages through the seller's lines into the merge, then lets the held-back live lines through; returns the cursor reached.</summary>
    public async Task<long> CatchUpAsync(PayoutMerge merge, Func<bool> stopped, CancellationToken ct)
    {
        using var http = Http();
        var catchUp = new PayoutCatchUp(http, Seller, Key);
        await foreach (var line in catchUp.LinesAsync(After, From, ct))
        {
            merge.FromCatchUp(line);
            if (stopped()) break;
        }
        merge.CaughtUp();
        return catchUp.Cursor;
    }

    /// <summary>
    /// Where to resume: past the lines after <paramref name="cursor"/> that were already shown (heard live), up to the
    /// first one that was not. One short read at the end of a watch.
    /// </summary>
    public async Task<long> ResumePointAsync(PayoutMerge merge, long cursor, CancellationToken ct)
    {
        using var http = Http();
        var catchUp = new PayoutCatchUp(http, Seller, Key);
        await foreach (var line in catchUp.LinesAsync(cursor, null, ct))
        {
            if (!merge.WasShown(line.TaskId, line.SellerId)) break;
            cursor = line.Cursor;
        }
        return cursor;
    }

    private HttpClient Http() => new() { BaseAddress = new Uri(PayoutUrl.EndsWith('/') ? PayoutUrl : PayoutUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
}
