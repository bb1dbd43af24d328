using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using DataExchange.Contracts;

namespace DataExchange.Client;

/// <summary>
/// A seller's payment lines from the payout service's log (GET /sellers/{id}/payouts?after=CURSOR&amp;limit=N), page after
/// page in log order, each line once. <see cref="Cursor"/> is where to resume: the cursor of the last line yielded.
/// </summary>
public sealed class PayoutCatchUp(HttpClient payout, string sellerId, string key, int pageSize = 500)
{
    private readonly CursorPages _pages = new(payout, key);

    /// <summary>The cursor of the last line yielded (or of the start); pass it as <c>after</c> to resume.</summary>
    public long Cursor => _pages.Cursor;

    /// <summary>Every line after <paramref name="after"/> (or, when <paramref name="from"/> is given, at or after that time) until caught up.</summary>
    public IAsyncEnumerable<PayoutLineView> LinesAsync(long after, DateTimeOffset? from, CancellationToken ct) =>
        _pages.ReadAsync<PayoutLinePage, PayoutLineView>($"sellers/{Uri.EscapeDataString(sellerId)}/payouts", pageSize, after, from,
            p => p.Lines, l => l.Cursor, p => (p.Next, p.CaughtUp), ct);
}

/// <summary>A payment line as a subscriber shows it: from the catch-up (with its cursor) or heard live (no cursor yet).</summary>
public sealed record PaymentLine(Guid TaskId, string SellerId, double Share, decimal Amount, DateTimeOffset At, long? Cursor)
{
    public static PaymentLine Of(PayoutLineView l) => new(l.TaskId, l.SellerId, l.Share, l.Amount, l.SettledAt, l.Cursor);
    public static PaymentLine Of(SellerPaid p, DateTimeOffset heardAt) => new(p.TaskId, p.SellerId, p.Share, p.Amount, heardAt, null);
}

/// <summary>
/// Merges a catch-up with live messages so each line is shown exactly once. Subscribe first, then catch up: a line
/// settled meanwhile arrives live (held back until the catch-up ends) or in the catch-up, or both, and the second copy is
/// dropped by its key. Lines are shown through <paramref name="show"/>, one at a time; it returns false when it did not
/// show one (e.g. a line limit reached), and that line does not count as shown.
/// </summary>
public class CatchUpMerge<TKey, TLine>(Func<TLine, TKey> key, Func<TLine, bool> show, bool catchingUp = true) where TKey : notnull
{
    private readonly object _gate = new();
    private readonly HashSet<TKey> _shown = [];
    private readonly List<TLine> _heldBack = [];
    private readonly TaskCompletionSource _caughtUp = NewCaughtUp(catchingUp);
    private bool _catchingUp = catchingUp;

    private static TaskCompletionSource NewCaughtUp(bool catchingUp)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!catchingUp) done.SetResult();
        return done;
    }

    /// <summary>
    /// Done when the catch-up is: a live handler awaits it before returning, so a message held back is acknowledged
    /// only once its line was shown (a subscriber killed meanwhile gets it again from its queue).
    /// </summary>
    public Task WhenCaughtUp => _caughtUp.Task;

    /// <summary>Lines shown so far.</summary>
    public int Shown { get { lock (_gate) return _shown.Count; } }

    /// <summary>A line of the catch-up: shown now unless already shown.</summary>
    public bool FromCatchUp(TLine line)
    {
        lock (_gate) return ShowOnce(line);
    }

    /// <summary>A live line: held back while catching up (so lines keep their log order), else shown unless already shown.</summary>
    public bool Live(TLine line)
    {
        lock (_gate)
        {
            if (!_catchingUp) return ShowOnce(line);
            _heldBack.Add(line);
            return false;
        }
    }

    /// <summary>The catch-up is done: the live lines held back meanwhile that it did not have are shown, in arrival order.</summary>
    public void CaughtUp()
    {
        lock (_gate)
        {
            _catchingUp = false;
            foreach (var line in _heldBack) ShowOnce(line);
            _heldBack.Clear();
        }
        _caughtUp.TrySetResult();
    }

    /// <summary>Lines shown before this process started (a subscriber's own output file): never shown again.</summary>
    public void AlreadyShown(IEnumerable<TKey> keys)
    {
        lock (_gate) _shown.UnionWith(keys);
    }

    /// <summary>Whether the line with this key was shown (from either side).</summary>
    public bool WasShown(TKey k)
    {
        lock (_gate) return _shown.Contains(k);
    }

    private bool ShowOnce(TLine line)
    {
        // Mutation watched failing (SubscriberFaultTests, both subscribers print lines twice): showing without this check.
        if (_shown.Contains(key(line)) || !show(line)) return false;
        _shown.Add(key(line));
        return true;
    }
}

/// <summary>A seller's payment lines, each once by (TaskId, SellerId).</summary>
public sealed class PayoutMerge(Func<PaymentLine, bool> show, bool catchingUp = true)
    : CatchUpMerge<(Guid, string), PaymentLine>(l => (l.TaskId, l.SellerId), show, catchingUp)
{
    public bool FromCatchUp(PayoutLineView line) => FromCatchUp(PaymentLine.Of(line));

    public bool Live(SellerPaid paid, DateTimeOffset heardAt) => Live(PaymentLine.Of(paid, heardAt));

    public bool WasShown(Guid taskId, string sellerId) => WasShown((taskId, sellerId));
}

/// <summary>
/// A buyer's result for one task as a subscriber shows it: from the catch-up (with its cursor) or heard live as its
/// BuyerCharged (no cursor yet), which carries the gain the predictions have and the charge.
/// </summary>
public sealed record ResultLine(Guid TaskId, string BuyerId, string MarketId, double Gain, decimal Charge, DateTimeOffset At, long? Cursor)
{
    public static ResultLine Of(string buyerId, BuyerResultView r) =>
        new(r.TaskId, buyerId, r.MarketId, r.Gain, r.Charge, r.ChargedAt ?? DateTimeOffset.MinValue, r.Cursor);

    public static ResultLine Of(BuyerCharged c, DateTimeOffset heardAt) => new(c.TaskId, c.BuyerId, c.MarketId, c.Gain, c.Charge, heardAt, null);
}

/// <summary>A buyer's results, each once by TaskId.</summary>
public sealed class ResultMerge(Func<ResultLine, bool> show, bool catchingUp = true)
    : CatchUpMerge<Guid, ResultLine>(l => l.TaskId, show, catchingUp);

/// <summary>
/// A buyer's results from allocation's log (GET /buyers/{id}/results?after=CURSOR&amp;limit=N), page after page in log
/// order, each once. <see cref="Cursor"/> is where to resume.
/// </summary>
public sealed class BuyerResultCatchUp(HttpClient allocation, string buyerId, string key, int pageSize = 100)
{
    private readonly CursorPages _pages = new(allocation, key);

    public long Cursor => _pages.Cursor;

    public IAsyncEnumerable<BuyerResultView> ResultsAsync(long after, DateTimeOffset? from, CancellationToken ct) =>
        _pages.ReadAsync<BuyerResultPage, BuyerResultView>($"buyers/{Uri.EscapeDataString(buyerId)}/results", pageSize, after, from,
            p => p.Results, r => r.Cursor, p => (p.Next, p.CaughtUp), ct);
}

/// <summary>
/// A participant's log read page after page (GET PATH?after=CURSOR&amp;limit=N, or ?from=TIME for the first page), in log
/// order, each entry once. <see cref="Cursor"/> is where to resume: the cursor of the last entry yielded.
/// </summary>
internal sealed class CursorPages(HttpClient http, string key)
{
    public long Cursor { get; private set; }

    public async IAsyncEnumerable<TEntry> ReadAsync<TPage, TEntry>(string path, int pageSize, long after, DateTimeOffset? from,
        Func<TPage, IReadOnlyList<TEntry>> entries, Func<TEntry, long> cursorOf, Func<TPage, (long Next, bool CaughtUp)> end,
        [EnumeratorCancellation] CancellationToken ct)
    {
        Cursor = after;
        for (var first = true; ; first = false)
        {
            // The time picks the first page only; from there on the cursor carries on in log order.
            var query = from is { } t && first
                ? $"from={Uri.EscapeDataString(t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}"
                : $"after={Cursor.ToString(CultureInfo.InvariantCulture)}";
            var page = await CatchUpHttp.GetAsync<TPage>(http, $"{path}?{query}&limit={pageSize}", key, ct);
            var list = entries(page);
            foreach (var entry in list)
            {
                if (cursorOf(entry) <= Cursor) continue;
                Cursor = cursorOf(entry);
                yield return entry;
            }
            // With from and nothing there yet, next skips the older entries; otherwise it is the last entry's cursor.
            var (next, caughtUp) = end(page);
            if (next > Cursor) Cursor = next;
            if (caughtUp || list.Count == 0) yield break;
        }
    }
}

/// <summary>One GET of a catch-up page with a participant's key; an error status is the market's refusal.</summary>
internal static class CatchUpHttp
{
    public static async Task<T> GetAsync<T>(HttpClient http, string path, string key, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(ParticipantBus.KeyHeader, key);
        using var response = await http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
            throw new MarketRefusedException($"GET {new Uri(http.BaseAddress!, path)}: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        return await response.Content.ReadFromJsonAsync<T>(ct) ?? throw new MarketRefusedException($"GET {path}: an empty answer");
    }
}

/// <summary>The market answered a request with an error status (a refused key, a bad request).</summary>
public sealed class MarketRefusedException(string message) : Exception(message);
