using System.Text;
using System.Text.Json;
using static DataExchange.Reports.ReportRenderer;

namespace DataExchange.Reports;

/// <summary>The settlement report as indented JSON; money as exact JSON numbers with at least 8 decimals.</summary>
internal static class JsonReport
{
    public static string Render(SettlementReport r)
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
}
