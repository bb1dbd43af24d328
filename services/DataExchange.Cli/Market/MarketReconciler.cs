using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;

namespace DataExchange.Cli.Market;

/// <summary>
/// Accounts for a run's tasks from the market's logs when their messages do not come (a broker outage drops what was
/// routed to a temporary queue while it was gone): each pending task's buyer's results on allocation
/// (GET /buyers/{id}/results) and, for the operator, every seller's payment lines on payout (GET /sellers/{id}/payouts),
/// each read on from where the previous round stopped. The operator's task is accounted for when charged and all its
/// lines are in; a buyer's (a participant, who reads only its own results) when charged with its predictions and its
/// settlement (on its durable queue, which loses nothing) still not heard a round later: a buyer cannot read settlements.
/// </summary>
public sealed class MarketReconciler(MarketClient client, string allocationUrl, string payoutUrl, Func<ParticipantRole, string, string> keyOf,
    IReadOnlyList<string> sellers, bool operatorView, DateTimeOffset since)
{
    private readonly Dictionary<string, long> _buyerCursors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sellerCursors = new(StringComparer.Ordinal);
    private int _round;

    /// <summary>Tasks accounted for from the logs so far (not heard on the bus).</summary>
    public int Reconciled { get; private set; }

    private int _resultRound;

    public async Task RoundAsync(IReadOnlyCollection<Guid> pending, CancellationToken ct)
    {
        _resultRound++;
        using var allocation = Http(allocationUrl);
        var reports = pending.Select(client.Report).ToDictionary(r => r.TaskId);
        foreach (var buyer in reports.Values.Select(r => r.BuyerId).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            var results = new BuyerResultCatchUp(allocation, buyer, keyOf(ParticipantRole.Buyer, buyer));
            // The first read starts at the run's start (a long-lived buyer's older results are not this run's).
            var first = !_buyerCursors.TryGetValue(buyer, out var after);
            await foreach (var r in results.ResultsAsync(after, first ? since : null, ct))
                if (reports.TryGetValue(r.TaskId, out var report))
                    lock (report)
                    {
                        report.Result = r;
                        report.ResultRound = _resultRound + 1;
                    }
            _buyerCursors[buyer] = results.Cursor;
        }
        if (operatorView && reports.Values.Any(r => r.Result is not null))
        {
            using var payout = Http(payoutUrl);
            // Lines of one TaskSettled are written together, but each seller is read at its own moment: a task whose first
            // line appeared in one pass has all its lines readable by the next, so a pass that found new tasks is followed by another.
            for (var pass = 0; pass < 2; pass++)
            {
                _round++;
                var found = false;
                foreach (var seller in sellers)
                {
                    var lines = new PayoutCatchUp(payout, seller, keyOf(ParticipantRole.Seller, seller));
                    var first = !_sellerCursors.TryGetValue(seller, out var after);
                    await foreach (var l in lines.LinesAsync(after, first ? since : null, ct))
                    {
                        if (!reports.TryGetValue(l.TaskId, out var report)) continue;
                        lock (report)
                        {
                            report.Payouts.TryAdd(l.SellerId, new SellerPaid(l.TaskId, l.SellerId, l.Share, l.Amount));
                            if (report.FirstLineRound == 0)
                            {
                                report.FirstLineRound = _round;
                                found = true;
                            }
                        }
                    }
                    _sellerCursors[seller] = lines.Cursor;
                }
                if (!found) break;
            }
        }
        foreach (var report in reports.Values)
            lock (report)
            {
                var accounted = report.Result is not null && (!operatorView ? report.ResultRound < _resultRound
                    : (report.Accepted is { } a ? report.Payouts.Count == a.Sellers : report.FirstLineRound > 0 && report.FirstLineRound < _round));
                if (!accounted || report.Reconciled) continue;
                report.Reconciled = true;
                if (report.Settled is null && report.Rejected is null) Reconciled++;
            }
    }

    private static HttpClient Http(string url) => new() { BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/"), Timeout = TimeSpan.FromSeconds(30) };
}
