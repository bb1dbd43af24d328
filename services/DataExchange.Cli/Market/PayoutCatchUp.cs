using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults;
using DataExchange.Settlement;

namespace DataExchange.Cli.Market;

/// <summary>
/// A seller's payment lines from the payout service's log (GET /sellers/{id}/payouts?after=CURSOR&amp;limit=N), page after
/// page in log order, each line once. <see cref="Cursor"/> is where to resume: the cursor of the last line yielded.
/// </summary>
public sealed class PayoutCatchUp(HttpClient payout, string sellerId, string key, int pageSize = 500)
{
    /// <summary>The cursor of the last line yielded (or of the start); pass it as <c>after</c> to resume.</summary>
    public long Cursor { get; private set; }

    /// <summary>Every line after <paramref name="after"/> (or, when <paramref name="from"/> is given, at or after that time) until caught up.</summary>
    public async IAsyncEnumerable<PayoutLineView> LinesAsync(long after, DateTimeOffset? from, [EnumeratorCancellation] CancellationToken ct)
    {
        Cursor = after;
        for (var first = true; ; first = false)
        {
            // The time picks the first page only; from there on the cursor carries on in log order.
            var query = from is { } t && first
                ? $"from={Uri.EscapeDataString(t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}"
                : $"after={Cursor.ToString(CultureInfo.InvariantCulture)}";
            var page = await PageAsync($"sellers/{Uri.EscapeDataString(sellerId)}/payouts?{query}&limit={pageSize}", ct);
            foreach (var line in page.Lines)
            {
                if (line.Cursor <= Cursor) continue;
                Cursor = line.Cursor;
                yield return line;
            }
            // With from and nothing there yet, next skips the older lines; otherwise it is the last line's cursor.
            if (page.Next > Cursor) Cursor = page.Next;
            if (page.CaughtUp || page.Lines.Count == 0) yield break;
        }
    }

    private async Task<PayoutLinePage> PageAsync(string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(ParticipantKeys.Header, key);
        using var response = await payout.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
            throw new MarketRefusedException($"GET {new Uri(payout.BaseAddress!, path)}: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        return await response.Content.ReadFromJsonAsync<PayoutLinePage>(ct)
               ?? throw new MarketRefusedException($"GET {path}: an empty answer");
    }
}

/// <summary>A payment line as a subscriber shows it: from the catch-up (with its cursor) or heard live (no cursor yet).</summary>
public sealed record PaymentLine(Guid TaskId, string SellerId, double Share, decimal Amount, DateTimeOffset At, long? Cursor)
{
    public static PaymentLine Of(PayoutLineView l) => new(l.TaskId, l.SellerId, l.Share, l.Amount, l.SettledAt, l.Cursor);
    public static PaymentLine Of(SellerPaid p, DateTimeOffset heardAt) => new(p.TaskId, p.SellerId, p.Share, p.Amount, heardAt, null);
}

/// <summary>
/// Merges a catch-up with live SellerPaid messages so each payment line is shown exactly once. Subscribe first, then catch
/// up: a line settled meanwhile arrives live (held back until the catch-up ends) or in the catch-up, or both, and the
/// second copy is dropped by (TaskId, SellerId). Lines are shown through <paramref name="show"/>, one at a time; it
/// returns false when it did not show one (e.g. a line limit reached), and that line does not count as shown.
/// </summary>
public sealed class PayoutMerge(Func<PaymentLine, bool> show, bool catchingUp = true)
{
    private readonly object _gate = new();
    private readonly HashSet<(Guid, string)> _shown = [];
    private readonly List<PaymentLine> _heldBack = [];
    private bool _catchingUp = catchingUp;

    /// <summary>Lines shown so far.</summary>
    public int Shown { get { lock (_gate) return _shown.Count; } }

    /// <summary>A line of the catch-up: shown now unless already shown.</summary>
    public bool FromCatchUp(PayoutLineView line)
    {
        lock (_gate) return ShowOnce(PaymentLine.Of(line));
    }

    /// <summary>A live message: held back while catching up (so lines keep their log order), else shown unless already shown.</summary>
    public bool Live(SellerPaid paid, DateTimeOffset heardAt)
    {
        lock (_gate)
        {
            if (!_catchingUp) return ShowOnce(PaymentLine.Of(paid, heardAt));
            _heldBack.Add(PaymentLine.Of(paid, heardAt));
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
    }

    /// <summary>Whether this task's line of this seller was shown (from either side).</summary>
    public bool WasShown(Guid taskId, string sellerId)
    {
        lock (_gate) return _shown.Contains((taskId, sellerId));
    }

    private bool ShowOnce(PaymentLine line)
    {
        if (_shown.Contains((line.TaskId, line.SellerId)) || !show(line)) return false;
        _shown.Add((line.TaskId, line.SellerId));
        return true;
    }
}

/// <summary>The market answered a request with an error status (a refused key, a bad request).</summary>
public sealed class MarketRefusedException(string message) : Exception(message);
