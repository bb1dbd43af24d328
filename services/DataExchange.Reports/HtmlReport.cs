using System.Globalization;
using System.Net;
using System.Text;
using static DataExchange.Reports.ReportRenderer;

namespace DataExchange.Reports;

/// <summary>
/// The settlement report as a self-contained HTML page: totals, unsettled tasks, each market's price over time and the
/// sellers' earnings as inline SVG, then the sellers' and buyers' tables. Elements carry ids and data attributes for tests.
/// </summary>
internal static class HtmlReport
{
    private static string H(string s) => WebUtility.HtmlEncode(s);

    private static string C(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Render(SettlementReport r)
    {
        var sb = new StringBuilder();
        void Line(string s) => sb.Append(s).Append('\n');
        var t = r.Totals;
        Line("<!DOCTYPE html>");
        Line("<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DataExchange settlement report</title>");
        Line("<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 10px;border-bottom:1px solid #ddd}" +
             "td.n{text-align:right;font-family:monospace}.ok{color:#176f2c}.bad{color:#b00020}svg{background:#fafafa;border:1px solid #ddd}" +
             ".mean-price{fill:none;stroke:#1f5fbf;stroke-width:2}.quoted-price{fill:#e08a00}.bar{fill:#3a9d5d}.axis{stroke:#888}text{font-size:11px}</style>");
        Line("</head><body>");
        Line("<h1>Settlement report</h1>");
        Line($"<p id=\"period\">Period: {H(Period(r.Period))}{(r.MarketId is null ? "" : ", market " + H(r.MarketId))}. Tasks settled: <span id=\"task-count\">{t.Tasks}</span>; charged and unsettled: <span id=\"unsettled-count\">{t.UnsettledTasks}</span>.</p>");

        Line("<h2>Totals</h2>");
        Line("<table id=\"totals\">");
        void TotalRow(string id, string label, decimal v) => Line($"<tr><th>{label}</th><td class=\"n\" id=\"{id}\">{Money(v)}</td></tr>");
        TotalRow("total-charged", "Charged (allocation's log)", t.Charged);
        TotalRow("total-paid", "Paid to sellers", t.PaidToSellers);
        TotalRow("total-retained", "Retained by market", t.Retained);
        TotalRow("total-fee", "Market fee", t.Fee);
        TotalRow("total-unsettled", "Charged, unsettled", t.ChargedUnsettled);
        TotalRow("total-sellers", "Sellers' accounts", t.PaidToSellerAccounts);
        TotalRow("total-revenue", "Market revenue (PF* updates)", t.MarketRevenue);
        Line("</table>");
        Line($"<p id=\"balances\" class=\"{(t.Balances ? "ok" : "bad")}\">{H(BalanceLine(t))}</p>");

        if (r.Unsettled.Count > 0)
        {
            Line("<h2>Charged, not settled</h2>");
            Line("<table id=\"unsettled\"><tr><th>task</th><th>market</th><th>buyer</th><th>charged at</th><th>charge</th></tr>");
            foreach (var u in r.Unsettled)
                Line($"<tr class=\"unsettled\" data-task=\"{u.TaskId}\"><td>{u.TaskId}</td><td>{H(u.MarketId)}</td><td>{H(u.BuyerId)}</td><td>{Time(u.ChargedAt)}</td><td class=\"n\">{Money(u.Charge)}</td></tr>");
            Line("</table>");
        }

        Line("<h2>Price over time</h2>");
        foreach (var m in r.Markets) PriceChart(sb, m);

        Line("<h2>Sellers' earnings</h2>");
        EarningsChart(sb, r.Sellers);

        Line("<h2>Sellers</h2>");
        Line("<table id=\"sellers\"><tr><th>seller</th><th>tasks</th><th>paid</th><th>balance</th></tr>");
        foreach (var s in r.Sellers)
            Line($"<tr class=\"seller\" data-seller=\"{H(s.SellerId)}\"><td>{H(s.SellerId)}</td><td class=\"n\">{s.Tasks}</td><td class=\"n\">{Money(s.Paid)}</td><td class=\"n\">{Money(s.Balance)}</td></tr>");
        Line("</table>");
        Line("<h2>Buyers</h2>");
        Line("<table id=\"buyers\"><tr><th>buyer</th><th>tasks</th><th>charged</th><th>gain bought</th><th>predictions</th></tr>");
        foreach (var b in r.Buyers)
            Line($"<tr class=\"buyer\" data-buyer=\"{H(b.BuyerId)}\"><td>{H(b.BuyerId)}</td><td class=\"n\">{b.Tasks}</td><td class=\"n\">{Money(b.Charged)}</td><td class=\"n\">{Fixed(b.GainBought, 6)}</td><td class=\"n\">{b.PredictionsDelivered}</td></tr>");
        Line("</table>");
        Line("</body></html>");
        return sb.ToString();
    }

    private static void PriceChart(StringBuilder sb, MarketLine m)
    {
        const double w = 640, h = 240, left = 50, right = 10, top = 10, bottom = 30;
        var points = m.Prices;
        var values = points.Select(p => p.MeanPrice).Concat(points.Where(p => p.QuotedPrice is not null).Select(p => p.QuotedPrice!.Value)).Where(double.IsFinite).ToList();
        var max = values.Count == 0 ? 1 : Math.Max(values.Max(), 1e-9);
        double X(int i) => left + (points.Count <= 1 ? 0 : i * (w - left - right) / (points.Count - 1));
        double Y(double v) => top + (h - top - bottom) * (1 - (double.IsFinite(v) ? v : 0) / max);
        var id = IdPart(m.MarketId);
        sb.Append($"<figure><svg id=\"price-chart-{id}\" class=\"price-chart\" data-market=\"{H(m.MarketId)}\" data-updates=\"{points.Count}\" width=\"{C(w)}\" height=\"{C(h)}\" viewBox=\"0 0 {C(w)} {C(h)}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        sb.Append($"<line class=\"axis\" x1=\"{C(left)}\" y1=\"{C(h - bottom)}\" x2=\"{C(w - right)}\" y2=\"{C(h - bottom)}\"/><line class=\"axis\" x1=\"{C(left)}\" y1=\"{C(top)}\" x2=\"{C(left)}\" y2=\"{C(h - bottom)}\"/>\n");
        sb.Append($"<text x=\"{C(left - 5)}\" y=\"{C(top + 10)}\" text-anchor=\"end\">{Fixed(max, 2)}</text><text x=\"{C(left - 5)}\" y=\"{C(h - bottom)}\" text-anchor=\"end\">0</text>\n");
        sb.Append($"<text x=\"{C((w + left) / 2)}\" y=\"{C(h - 8)}\" text-anchor=\"middle\">price update (1 to {points.Count})</text>\n");
        sb.Append($"<polyline class=\"mean-price\" points=\"{string.Join(' ', points.Select((p, i) => $"{C(X(i))},{C(Y(p.MeanPrice))}"))}\"><title>mean price after each update</title></polyline>\n");
        for (var i = 0; i < points.Count; i++)
            if (points[i].QuotedPrice is { } q)
                sb.Append($"<circle class=\"quoted-price\" cx=\"{C(X(i))}\" cy=\"{C(Y(q))}\" r=\"2.5\"><title>task {points[i].TaskId}: quoted {Fixed(q, 4)}</title></circle>\n");
        sb.Append("</svg>\n");
        sb.Append($"<figcaption>Market {H(m.MarketId)}: mean price after each of its {points.Count} PF* updates (line) and the price quoted to each task (dots); revenue {Money(m.Revenue)}.</figcaption></figure>\n");
    }

    private static void EarningsChart(StringBuilder sb, IReadOnlyList<SellerLine> sellers)
    {
        const double w = 640, row = 22, label = 110, amountWidth = 120;
        var h = Math.Max(1, sellers.Count) * row + 10;
        var max = sellers.Select(s => s.Paid).DefaultIfEmpty(0).Max();
        sb.Append($"<svg id=\"seller-earnings\" class=\"earnings-chart\" data-sellers=\"{sellers.Count}\" width=\"{C(w)}\" height=\"{C(h)}\" viewBox=\"0 0 {C(w)} {C(h)}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        for (var i = 0; i < sellers.Count; i++)
        {
            var s = sellers[i];
            var y = 5 + i * row;
            var width = max > 0 ? (double)(s.Paid / max) * (w - label - amountWidth) : 0;
            sb.Append($"<g class=\"seller-bar\" id=\"seller-bar-{IdPart(s.SellerId)}\" data-seller=\"{H(s.SellerId)}\" data-paid=\"{Money(s.Paid)}\">" +
                      $"<text class=\"seller-label\" x=\"{C(label - 6)}\" y=\"{C(y + 14)}\" text-anchor=\"end\">{H(s.SellerId)}</text>" +
                      $"<rect class=\"bar\" x=\"{C(label)}\" y=\"{C(y + 2)}\" width=\"{C(width)}\" height=\"{C(row - 6)}\"/>" +
                      $"<text class=\"amount\" x=\"{C(label + width + 6)}\" y=\"{C(y + 14)}\">{Money(s.Paid)}</text></g>\n");
        }
        sb.Append("</svg>\n");
    }
}
