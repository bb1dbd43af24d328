using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace DataExchange.Settlement;

/// <summary>
/// The settlement report as a terminal table, CSV, JSON or a self-contained HTML page (inline SVG charts, no scripts).
/// Everything is deterministic: sorted rows, invariant culture, money with at least 8 decimals and every digit it has,
/// "\n" line ends, and no clock: the same projections render the same bytes.
/// </summary>
public static class ReportRenderer
{
    public static readonly IReadOnlyList<string> Formats = ["table", "csv", "json", "html"];

    public static string Render(SettlementReport report, string format) => format switch
    {
        "table" => Table(report),
        "csv" => Csv(report),
        "json" => Json(report),
        "html" => Html(report),
        _ => throw new ArgumentException($"unknown format '{format}' (table, csv, json or html)", nameof(format)),
    };

    /// <summary>Exact and fixed: at least 8 decimals (the ledger unit), more only if the amount has them.</summary>
    public static string Money(decimal d) => d.ToString("0.00000000##########", CultureInfo.InvariantCulture);

    public static string Number(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string Fixed(double d, int decimals) => d.ToString("F" + decimals, CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset? t) => t is null ? "" : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string Period(ReportPeriod p) => $"from {(p.From is null ? "the start" : Time(p.From))} to {(p.To is null ? "now" : Time(p.To))}";

    /// <summary>What `balances: yes` means, or the first discrepancies that make it no.</summary>
    private static string BalanceLine(ReportTotals t) => t.Balances
        ? "balances: yes (charged = paid to sellers + retained + fee + charged and unsettled, exactly; every settlement has its recorded charge)"
        : $"balances: NO ({string.Join("; ", t.Discrepancies.Take(10))}{(t.Discrepancies.Count > 10 ? $"; and {t.Discrepancies.Count - 10} more" : "")})";

    public static string Table(SettlementReport r)
    {
        var sb = new StringBuilder();
        void Line(string s) => sb.Append(s).Append('\n');
        Line("===== Settlement Report =====");
        Line($"Period             : {Period(r.Period)}" + (r.MarketId is null ? "" : $", market {r.MarketId}"));
        Line($"Tasks settled      : {r.Totals.Tasks}");
        Line($"Tasks unsettled    : {r.Totals.UnsettledTasks} (charged, not settled by the period's end)");
        Line("");
        var sw = Math.Max(6, r.Sellers.Select(s => s.SellerId.Length).DefaultIfEmpty(0).Max());
        Line($"{"Seller".PadRight(sw)}  {"tasks",6}  {"paid",20}  {"balance",20}");
        foreach (var s in r.Sellers) Line($"{s.SellerId.PadRight(sw)}  {s.Tasks,6}  {Money(s.Paid),20}  {Money(s.Balance),20}");
        Line("");
        var bw = Math.Max(5, r.Buyers.Select(b => b.BuyerId.Length).DefaultIfEmpty(0).Max());
        Line($"{"Buyer".PadRight(bw)}  {"tasks",6}  {"charged",20}  {"gain bought",12}  {"predictions",11}");
        foreach (var b in r.Buyers) Line($"{b.BuyerId.PadRight(bw)}  {b.Tasks,6}  {Money(b.Charged),20}  {Fixed(b.GainBought, 6),12}  {b.PredictionsDelivered,11}");
        Line("");
        var mw = Math.Max(6, r.Markets.Select(m => m.MarketId.Length).DefaultIfEmpty(0).Max());
        Line($"{"Market".PadRight(mw)}  {"tasks",6}  {"quotes",6}  {"updates",7}  {"revenue",20}  {"mean price",10}");
        foreach (var m in r.Markets)
            Line($"{m.MarketId.PadRight(mw)}  {m.Tasks,6}  {m.Quotes,6}  {m.Prices.Count,7}  {Money(m.Revenue),20}  {(m.Prices.Count == 0 ? "" : Fixed(m.Prices[^1].MeanPrice, 6)),10}");
        Line("");
        if (r.Unsettled.Count > 0)
        {
            Line($"{"Charged, not settled",-36}  {"buyer".PadRight(bw)}  {"charged at",-28}  {"charge",20}");
            foreach (var u in r.Unsettled) Line($"{u.TaskId,-36}  {u.BuyerId.PadRight(bw)}  {Time(u.ChargedAt),-28}  {Money(u.Charge),20}");
            Line("");
        }
        var t = r.Totals;
        Line($"Charged            : {Money(t.Charged)} (allocation's log)");
        Line($"Paid to sellers    : {Money(t.PaidToSellers)}");
        Line($"Retained by market : {Money(t.Retained)}");
        Line($"Market fee         : {Money(t.Fee)}");
        Line($"Charged, unsettled : {Money(t.ChargedUnsettled)} ({t.UnsettledTasks} tasks)");
        Line($"Sellers' accounts  : {Money(t.PaidToSellerAccounts)}");
        Line($"Market revenue     : {Money(t.MarketRevenue)} (PF* updates applied)");
        Line(BalanceLine(t));
        return sb.ToString();
    }

    private static string CsvField(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>One table: section (seller, buyer, market, task, unsettled, total_unsettled, total) then the columns that apply to it.</summary>
    public static string Csv(SettlementReport r)
    {
        var sb = new StringBuilder();
        void Row(params string[] cells) => sb.Append(string.Join(',', cells.Select(CsvField))).Append('\n');
        Row("section", "id", "tasks", "charged", "paid_to_sellers", "retained", "fee", "balance", "gain_bought", "predictions", "settled_at", "market", "buyer",
            "charged_at");
        foreach (var s in r.Sellers) Row("seller", s.SellerId, Int(s.Tasks), "", Money(s.Paid), "", "", Money(s.Balance), "", "", "", "", "", "");
        foreach (var b in r.Buyers) Row("buyer", b.BuyerId, Int(b.Tasks), Money(b.Charged), "", "", "", "", Number(b.GainBought), Int(b.PredictionsDelivered), "", "", "", "");
        foreach (var m in r.Markets) Row("market", m.MarketId, Int(m.Tasks), Money(m.Revenue), "", "", "", "", "", "", "", "", "", "");
        foreach (var t in r.Tasks) Row("task", t.TaskId.ToString(), "1", Money(t.Charge), Money(t.PaidToSellers), Money(t.Retained), Money(t.Fee), "", "", "",
            Time(t.SettledAt), t.MarketId, t.BuyerId, "");
        foreach (var u in r.Unsettled) Row("unsettled", u.TaskId.ToString(), "1", Money(u.Charge), "", "", "", "", "", "", "", u.MarketId, u.BuyerId, Time(u.ChargedAt));
        var x = r.Totals;
        Row("total_unsettled", "", Int(x.UnsettledTasks), Money(x.ChargedUnsettled), "", "", "", "", "", "", "", "", "", "");
        Row("total", x.Balances ? "balances" : "DOES NOT BALANCE", Int(x.Tasks), Money(x.Charged), Money(x.PaidToSellers), Money(x.Retained), Money(x.Fee),
            "", "", "", "", "", "", "");
        return sb.ToString();
    }

    private static string Int(int i) => i.ToString(CultureInfo.InvariantCulture);

    public static string Json(SettlementReport r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            void MoneyProp(string name, decimal d) { w.WritePropertyName(name); w.WriteRawValue(Money(d)); }
            void DoubleProp(string name, double d) { w.WritePropertyName(name); w.WriteRawValue(double.IsFinite(d) ? Number(d) : "null"); }
            w.WriteStartObject();
            w.WriteStartObject("period");
            if (r.Period.From is null) w.WriteNull("from"); else w.WriteString("from", Time(r.Period.From));
            if (r.Period.To is null) w.WriteNull("to"); else w.WriteString("to", Time(r.Period.To));
            w.WriteEndObject();
            if (r.MarketId is null) w.WriteNull("market"); else w.WriteString("market", r.MarketId);
            w.WriteStartObject("totals");
            w.WriteNumber("tasks", r.Totals.Tasks);
            MoneyProp("charged", r.Totals.Charged);
            MoneyProp("paidToSellers", r.Totals.PaidToSellers);
            MoneyProp("retained", r.Totals.Retained);
            MoneyProp("fee", r.Totals.Fee);
            w.WriteNumber("unsettledTasks", r.Totals.UnsettledTasks);
            MoneyProp("chargedUnsettled", r.Totals.ChargedUnsettled);
            MoneyProp("paidToSellerAccounts", r.Totals.PaidToSellerAccounts);
            MoneyProp("marketRevenue", r.Totals.MarketRevenue);
            w.WriteBoolean("balances", r.Totals.Balances);
            w.WriteStartArray("discrepancies");
            foreach (var d in r.Totals.Discrepancies) w.WriteStringValue(d);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("sellers");
            foreach (var s in r.Sellers)
            {
                w.WriteStartObject();
                w.WriteString("sellerId", s.SellerId);
                w.WriteNumber("tasks", s.Tasks);
                MoneyProp("paid", s.Paid);
                MoneyProp("balance", s.Balance);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("buyers");
            foreach (var b in r.Buyers)
            {
                w.WriteStartObject();
                w.WriteString("buyerId", b.BuyerId);
                w.WriteNumber("tasks", b.Tasks);
                MoneyProp("charged", b.Charged);
                DoubleProp("gainBought", b.GainBought);
                w.WriteNumber("predictionsDelivered", b.PredictionsDelivered);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("markets");
            foreach (var m in r.Markets)
            {
                w.WriteStartObject();
                w.WriteString("marketId", m.MarketId);
                w.WriteNumber("tasks", m.Tasks);
                w.WriteNumber("quotes", m.Quotes);
                MoneyProp("revenue", m.Revenue);
                w.WriteStartArray("prices");
                foreach (var p in m.Prices)
                {
                    w.WriteStartObject();
                    w.WriteNumber("update", p.Update);
                    w.WriteString("taskId", p.TaskId.ToString());
                    DoubleProp("meanPrice", p.MeanPrice);
                    if (p.QuotedPrice is { } q) DoubleProp("quotedPrice", q); else w.WriteNull("quotedPrice");
                    if (p.Revenue is { } rev) MoneyProp("revenue", rev); else w.WriteNull("revenue");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("tasks");
            foreach (var t in r.Tasks)
            {
                w.WriteStartObject();
                w.WriteString("taskId", t.TaskId.ToString());
                w.WriteString("marketId", t.MarketId);
                w.WriteString("buyerId", t.BuyerId);
                w.WriteString("settledAt", Time(t.SettledAt));
                MoneyProp("charge", t.Charge);
                MoneyProp("paidToSellers", t.PaidToSellers);
                MoneyProp("retained", t.Retained);
                MoneyProp("fee", t.Fee);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("unsettled");
            foreach (var u in r.Unsettled)
            {
                w.WriteStartObject();
                w.WriteString("taskId", u.TaskId.ToString());
                w.WriteString("marketId", u.MarketId);
                w.WriteString("buyerId", u.BuyerId);
                w.WriteString("chargedAt", Time(u.ChargedAt));
                MoneyProp("charge", u.Charge);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static string H(string s) => WebUtility.HtmlEncode(s);

    /// <summary>An id-safe form of a market or seller id (letters, digits, '-' and '_').</summary>
    public static string IdPart(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());

    private static string C(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Html(SettlementReport r)
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
