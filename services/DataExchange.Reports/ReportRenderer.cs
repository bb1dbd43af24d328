using System.Globalization;
using System.Text;

namespace DataExchange.Reports;

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

    internal static string Fixed(double d, int decimals) => d.ToString("F" + decimals, CultureInfo.InvariantCulture);

    internal static string Time(DateTimeOffset? t) => t is null ? "" : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static string Period(ReportPeriod p) => $"from {(p.From is null ? "the start" : Time(p.From))} to {(p.To is null ? "now" : Time(p.To))}";

    /// <summary>What `balances: yes` means, or the first discrepancies that make it no.</summary>
    internal static string BalanceLine(ReportTotals t) => t.Balances
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

    /// <summary>The report as JSON: totals, then sellers, buyers, markets (with their price history), tasks and unsettled tasks.</summary>
    public static string Json(SettlementReport r) => JsonReport.Render(r);

    /// <summary>The report as one HTML page with its charts (no scripts, no external files).</summary>
    public static string Html(SettlementReport r) => HtmlReport.Render(r);

    /// <summary>An id-safe form of a market or seller id (letters, digits, '-' and '_').</summary>
    public static string IdPart(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
}
