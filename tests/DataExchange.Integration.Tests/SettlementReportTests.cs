using System.Diagnostics;
using EventLog = DataExchange.Integration.Tests.Infrastructure.EventLog;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DataExchange.Cli;
using DataExchange.Cli.Market;
using DataExchange.Cli.Reports;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Reports;
using DataExchange.Settlement;
using Marten;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>A market of its own for the settlement tests (its projections are rebuilt; no other test's tasks join its report).</summary>
public sealed class SettlementFixture : MarketFixture
{
    public const int TaskCount = 30;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Traded? _traded;

    public sealed record Traded(string MarketId, Guid[] Ids, IReadOnlyDictionary<Guid, TaskReport> Reports);

    /// <summary>Runs 30 tasks through the services once, then waits for every price update and for the projections.</summary>
    public async Task<Traded> TradeAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            if (_traded is not null) return _traded;
            var scenario = Scenarios.Standard.Value;
            await EnsureSellersAsync(scenario.Sellers, ct);
            var marketId = Scenarios.NewMarketId("settle");
            var ids = await Scenarios.SubmitAllAsync(this, scenario, TaskCount, marketId, ct);
            await Client.WaitAllAsync(ids, TimeSpan.FromMinutes(3), null, ct);
            await Scenarios.WaitForPriceUpdatesAsync(this, marketId, ids.Length, TimeSpan.FromSeconds(60), ct);
            return _traded = new Traded(marketId, ids, ids.ToDictionary(i => i, Client.Report));
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task<string> ReportAsync(string format, ReportPeriod? period = null, CancellationToken ct = default) =>
        ReportCommand.BuildAsync(Postgres, period ?? new ReportPeriod(null, null), null, format, TimeSpan.FromSeconds(60), TextWriter.Null, ct);
}

[CollectionDefinition(Name)]
public sealed class SettlementCollection : ICollectionFixture<SettlementFixture>
{
    public const string Name = "settlement";
}

/// <summary>
/// Settlement projections over the real services' logs: the live report balances and agrees with the bus, the accounts and
/// the market history match the events, a rebuild gives byte-identical reports, the period filter, and the HTML report as a
/// real headless browser renders it.
/// </summary>
[Collection(SettlementCollection.Name)]
public sealed class SettlementReportTests(SettlementFixture market, ITestOutputHelper output)
{
    private static CancellationTokenSource Timeout() => new(TimeSpan.FromMinutes(4));

    // Mutations watched failing: a leg taken the wrong way round (Ms(priced, submitted)): "negative leg"; the market
    // filter dropped from the query: the other market's 0 becomes 30; the total from the event stamps instead of
    // SettledAt - SubmittedAt: differs from the bus's TaskSettled; the first five instead of the last (asc in the CTE).
    [Fact]
    public Task LatencyReport_GivesEveryTaskItsLegs_InTheOrderOfTheServices() => market.Run(async () =>
    {
        using var cts = Timeout();
        var traded = await market.TradeAsync(cts.Token);
        var legs = await LatencyReport.ReadAsync(market.Postgres, traded.MarketId, 1000, cts.Token);
        Assert.Equal(traded.Ids.Order(), legs.Select(l => l.TaskId).Order());
        foreach (var l in legs)
        {
            // One host, one clock: each service stamps its event after the previous one committed.
            Assert.True(l.PricedMs >= 0 && l.ChargedMs >= 0 && l.SettledMs >= 0, $"negative leg: {l}");
            Assert.True(l.PriceUpdatedMs is >= 0, $"no price update, or before the charge: {l}");
            var settled = traded.Reports[l.TaskId].Settled!;
            Assert.Equal((settled.SettledAt - settled.SubmittedAt).TotalMilliseconds, l.TotalMs, 0.01);
        }
        // The last five settled are the last five of the whole list, which is in settlement order (payout's log).
        var last = await LatencyReport.ReadAsync(market.Postgres, traded.MarketId, 5, cts.Token);
        Assert.Equal(legs.TakeLast(5).Select(l => l.TaskId), last.Select(l => l.TaskId));
        // Another market's tasks are not these; every market's include them.
        Assert.Empty(await LatencyReport.ReadAsync(market.Postgres, Scenarios.NewMarketId("other"), 1000, cts.Token));
        var all = (await LatencyReport.ReadAsync(market.Postgres, null, 1_000_000, cts.Token)).Select(l => l.TaskId).ToHashSet();
        Assert.Subset(all, traded.Ids.ToHashSet());
        output.WriteLine(LatencyReport.Render(legs, traded.MarketId));
    });

    // Mutation watched failing: NotCreatedYet.Of returning null (the missing table goes to the general database handler: exit 8).
    [Theory]
    [InlineData("settlement", "the settlement projections are not in this database yet")]
    [InlineData("latency", "the services' event logs are not in this database yet")]
    public Task A_report_on_a_database_no_service_has_used_exits_5_and_says_so(string report, string message) => market.Run(async () =>
    {
        var empty = "dx_empty_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new Npgsql.NpgsqlConnection(market.Postgres))
        {
            await admin.OpenAsync();
            await new Npgsql.NpgsqlCommand($"create database {empty}", admin).ExecuteNonQueryAsync();
        }
        try
        {
            var postgres = new Npgsql.NpgsqlConnectionStringBuilder(market.Postgres) { Database = empty, Pooling = false }.ConnectionString;
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            Assert.Equal(5, Dx.Run(["report", report, "--postgres", postgres], stdout, stderr));
            Assert.Contains(message, stderr.ToString());
            Assert.Equal("", stdout.ToString());
        }
        finally
        {
            await using var admin = new Npgsql.NpgsqlConnection(market.Postgres);
            await admin.OpenAsync();
            await new Npgsql.NpgsqlCommand($"drop database if exists {empty} with (force)", admin).ExecuteNonQueryAsync();
        }
    });

    [Fact]
    public Task LiveReport_BalancesExactly_AndAgreesWithTheBus() => market.Run(async () =>
    {
        using var cts = Timeout();
        var traded = await market.TradeAsync(cts.Token);
        var json = JsonDocument.Parse(await market.ReportAsync("json", ct: cts.Token)).RootElement;
        var totals = json.GetProperty("totals");
        var settled = traded.Reports.Values.Select(r => r.Settled!).ToList();
        var payouts = traded.Reports.Values.SelectMany(r => r.Payouts.Values).ToList();
        Assert.Equal(SettlementFixture.TaskCount, totals.GetProperty("tasks").GetInt32());
        Assert.True(totals.GetProperty("balances").GetBoolean(), "the report does not balance: " + totals);
        var charged = totals.GetProperty("charged").GetDecimal();
        var paid = totals.GetProperty("paidToSellers").GetDecimal();
        var retained = totals.GetProperty("retained").GetDecimal();
        var fee = totals.GetProperty("fee").GetDecimal();
        Assert.Equal(charged, paid + retained + fee);
        Assert.True(charged > 0, "nothing was charged");
        // The bus: TaskSettled charges and every SellerPaid amount the client received.
        Assert.Equal(settled.Sum(s => s.Charge), charged);
        Assert.Equal(payouts.Sum(p => p.Amount), paid);
        Assert.Equal(settled.Sum(s => s.Retained), retained);
        Assert.Equal(settled.Sum(s => s.Fee), fee);
        // Charged is read from allocation's log: every PaymentCharged the client heard; all of them settled.
        Assert.Equal(traded.Reports.Values.Sum(r => r.Charged!.Charge), charged);
        Assert.Equal(0, totals.GetProperty("unsettledTasks").GetInt32());
        Assert.Equal(0m, totals.GetProperty("chargedUnsettled").GetDecimal());
        Assert.Equal(0, json.GetProperty("unsettled").GetArrayLength());
        Assert.Equal(0, totals.GetProperty("discrepancies").GetArrayLength());
        Assert.Equal(paid, totals.GetProperty("paidToSellerAccounts").GetDecimal());
        Assert.Equal(charged, totals.GetProperty("marketRevenue").GetDecimal());
        foreach (var t in json.GetProperty("tasks").EnumerateArray())
            Assert.Equal(t.GetProperty("charge").GetDecimal(),
                t.GetProperty("paidToSellers").GetDecimal() + t.GetProperty("retained").GetDecimal() + t.GetProperty("fee").GetDecimal());
        var perSeller = payouts.GroupBy(p => p.SellerId).ToDictionary(g => g.Key, g => g.Sum(p => p.Amount));
        var sellers = json.GetProperty("sellers").EnumerateArray().ToList();
        Assert.Equal(perSeller.Keys.Order(StringComparer.Ordinal), sellers.Select(s => s.GetProperty("sellerId").GetString()!));
        foreach (var s in sellers) Assert.Equal(perSeller[s.GetProperty("sellerId").GetString()!], s.GetProperty("paid").GetDecimal());

        var table = await market.ReportAsync("table", ct: cts.Token);
        output.WriteLine(table);
        Assert.Contains("balances: yes", table);
        Assert.Contains($"Retained by market : {ReportRenderer.Money(retained)}", table);
    });

    [Fact]
    public Task Accounts_AndMarketHistory_MatchTheEvents() => market.Run(async () =>
    {
        using var cts = Timeout();
        var ct = cts.Token;
        var traded = await market.TradeAsync(ct);
        await market.ReportAsync("json", ct: ct); // waits until the projections have caught up
        var keys = traded.Ids.Select(i => i.ToString()).ToList();

        using var payoutStore = SettlementStores.Open(market.Postgres, SettlementProjections.PayoutSchema);
        await using (var session = payoutStore.QuerySession())
        {
            var paid = await market.Events.QueryAsync<SellerPaid>(EventLog.Payout, "seller_paid", ct: ct);
            var accounts = await session.Query<SellerAccount>().ToListAsync(ct);
            Assert.Equal(paid.Select(p => p.Data.SellerId).Distinct().Order(StringComparer.Ordinal), accounts.Select(a => a.Id).Order(StringComparer.Ordinal));
            foreach (var a in accounts)
            {
                var mine = paid.Where(p => p.Data.SellerId == a.Id).ToList();
                Assert.Equal(mine.Sum(p => p.Data.Amount), a.Balance);
                Assert.Equal(mine.Count, a.Payouts);
            }
            var settlements = await session.LoadManyAsync<TaskSettlement>(ct, keys);
            Assert.Equal(SettlementFixture.TaskCount, settlements.Count);
            foreach (var s in settlements)
            {
                Assert.Equal(s.Charge, s.PaidToSellers + s.Retained + s.Fee);
                Assert.Equal(s.PaidToSellers, s.Payouts.Sum(p => p.Amount));
                Assert.Equal(Scenarios.Standard.Value.Sellers.Sellers, s.Payouts.Length);
                var mine = paid.Where(p => p.Data.TaskId == s.TaskId).ToDictionary(p => p.Data.SellerId);
                foreach (var line in s.Payouts)
                    Assert.Equal((mine[line.SellerId].Data.Amount, mine[line.SellerId].Data.Share), (line.Amount, line.Share));
            }
        }

        using var allocationStore = SettlementStores.Open(market.Postgres, SettlementProjections.AllocationSchema);
        await using (var session = allocationStore.QuerySession())
        {
            var charged = await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", ct: ct);
            var delivered = await market.Events.QueryAsync<PredictionDelivered>(EventLog.Allocation, "prediction_delivered", ct: ct);
            var purchases = await session.Query<BuyerPurchase>().ToListAsync(ct);
            Assert.Equal(charged.Select(c => c.Data.TaskId).Order(), purchases.Select(p => p.TaskId).Order());
            foreach (var p in purchases)
            {
                var c = charged.Single(x => x.Data.TaskId == p.TaskId).Data;
                Assert.Equal((c.BuyerId, c.MarketId, c.Charge, c.Gain, c.Price, c.Bid), (p.BuyerId, p.MarketId, p.Charge, p.Gain, p.Price, p.Bid));
                Assert.Equal(delivered.Single(d => d.Data.TaskId == p.TaskId).Data.Predictions.Length, p.PredictionsDelivered);
                Assert.NotNull(p.ChargedAt);
            }
            foreach (var buyer in charged.Select(c => c.Data.BuyerId).Distinct())
            {
                var account = BuyerLine.Of(buyer, purchases);
                Assert.Equal(charged.Where(c => c.Data.BuyerId == buyer).Sum(c => c.Data.Charge), account.Charged);
                Assert.Equal(delivered.Where(d => d.Data.BuyerId == buyer).Sum(d => d.Data.Predictions.Length), account.PredictionsDelivered);
            }
        }

        using var pricingStore = SettlementStores.Open(market.Postgres, SettlementProjections.PricingSchema);
        await using (var session = pricingStore.QuerySession())
        {
            var history = await session.LoadAsync<MarketHistory>(traded.MarketId, ct);
            Assert.NotNull(history);
            var quotes = await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", keys, ct);
            var updates = await market.Events.QueryAsync<MarketPriceUpdated>(EventLog.Pricing, "market_price_updated", [traded.MarketId], ct);
            Assert.Equal(updates[^1].Data.Updates, history!.Updates);
            Assert.Equal(updates[^1].Data.Weights, history.Weights);
            Assert.Equal(updates[^1].Data.MeanPrice, history.MeanPrice);
            var points = (await session.Query<PriceUpdate>().Where(u => u.MarketId == traded.MarketId).ToListAsync(ct)).OrderBy(u => u.Updates).ToList();
            Assert.Equal(SettlementFixture.TaskCount, points.Count);
            Assert.Equal(traded.Ids.Order(), points.Select(u => u.TaskId).Order());
            Assert.Equal(quotes.ToDictionary(q => q.Data.TaskId, q => (double?)q.Data.Price), points.ToDictionary(u => u.TaskId, u => u.Price));
            Assert.Equal(updates.Select(u => u.Data.Updates), points.Select(u => u.Updates));
            for (var i = 0; i < updates.Count; i++)
            {
                Assert.Equal(updates[i].Data.Weights, points[i].Weights);
                Assert.Equal(updates[i].Data.MeanPrice, points[i].MeanPrice);
                Assert.Equal(updates[i].Data.Charge, points[i].Charge);
            }
            Assert.Equal(traded.Reports.Values.Sum(r => r.Charged!.Charge), history.Revenue);
        }
    });

    [Fact]
    public Task Rebuild_GivesByteIdenticalReports() => market.Run(async () =>
    {
        using var cts = Timeout();
        var ct = cts.Token;
        await market.TradeAsync(ct);
        string[] formats = ["json", "html", "csv", "table"];
        var before = new Dictionary<string, string>();
        foreach (var f in formats) before[f] = await market.ReportAsync(f, ct: ct);

        var progress = new StringWriter();
        var results = await ProjectionsCommand.RebuildAsync(market.Postgres, SettlementProjections.Schemas, progress, TimeSpan.FromMinutes(2), ct);
        output.WriteLine(progress.ToString());
        Assert.Equal(["SellerAccount", "TaskSettlement", "PayoutLine", "BuyerPurchase", "BuyerResult", "MarketHistory", "PriceUpdate"], results.Select(r => r.Projection));
        Assert.Contains("events/s", progress.ToString());

        foreach (var f in formats)
        {
            var after = await market.ReportAsync(f, ct: ct);
            Assert.True(before[f] == after, $"the {f} report differs after the rebuild:\n--- before\n{before[f]}\n--- after\n{after}");
        }
        // Through the command line as a user runs it.
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, Dx.Run(["projections", "rebuild", "--postgres", market.Postgres], stdout, stderr));
        Assert.Contains("rebuilt 7 projections", stdout.ToString()); // SellerAccount, TaskSettlement, PayoutLine; BuyerPurchase, BuyerResult; MarketHistory, PriceUpdate
        stdout = new StringWriter();
        Assert.Equal(0, Dx.Run(["report", "settlement", "--format", "json", "--postgres", market.Postgres], stdout, stderr));
        Assert.Equal(before["json"], stdout.ToString());
    });

    [Fact]
    public Task PeriodFilter_SelectsTheTasksSettledInIt() => market.Run(async () =>
    {
        using var cts = Timeout();
        var traded = await market.TradeAsync(cts.Token);
        var all = JsonDocument.Parse(await market.ReportAsync("json", ct: cts.Token)).RootElement.GetProperty("tasks").EnumerateArray()
            .Select(t => (Id: Guid.Parse(t.GetProperty("taskId").GetString()!), At: t.GetProperty("settledAt").GetString()!)).ToList();
        var bySettled = traded.Reports.Values.OrderBy(r => r.Settled!.SettledAt).ThenBy(r => r.TaskId).ToList();
        Assert.Equal(bySettled.Select(r => r.TaskId), all.Select(t => t.Id));
        // [the 10th settlement's time, the 20th's): the tasks settled at or after the first and strictly before the second.
        var from = bySettled[9].Settled!.SettledAt;
        var to = bySettled[19].Settled!.SettledAt;
        var expected = bySettled.Where(r => r.Settled!.SettledAt >= from && r.Settled.SettledAt < to).Select(r => r.TaskId).ToHashSet();
        Assert.InRange(expected.Count, 1, 10);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Dx.Run(["report", "settlement", "--from", from.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            "--to", to.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), "--format", "json", "--postgres", market.Postgres], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        var report = JsonDocument.Parse(stdout.ToString()).RootElement;
        var got = report.GetProperty("tasks").EnumerateArray().Select(t => Guid.Parse(t.GetProperty("taskId").GetString()!)).ToHashSet();
        Assert.Equal(expected.Order(), got.Order());
        // Charged before the period's end but settled at or after it: charged and unsettled in this report (its charge is in
        // "charged", from allocation's log), so the report still balances. When each task was charged: allocation's log.
        using var allocationStore = SettlementStores.Open(market.Postgres, SettlementProjections.AllocationSchema);
        await using var purchases = allocationStore.QuerySession();
        var chargedAt = (await purchases.LoadManyAsync<BuyerPurchase>(cts.Token, traded.Ids.Select(i => i.ToString()).ToArray()))
            .ToDictionary(p => p.TaskId, p => p.ChargedAt!.Value);
        var inFlight = bySettled.Where(r => chargedAt[r.TaskId] < to && r.Settled!.SettledAt >= to).Select(r => r.TaskId).ToHashSet();
        Assert.Equal(inFlight.Order(), report.GetProperty("unsettled").EnumerateArray().Select(u => Guid.Parse(u.GetProperty("taskId").GetString()!)).Order());
        var totals = report.GetProperty("totals");
        Assert.True(totals.GetProperty("balances").GetBoolean(), totals.ToString());
        Assert.Equal(inFlight.Count, totals.GetProperty("unsettledTasks").GetInt32());
        Assert.Equal(traded.Reports.Values.Where(r => inFlight.Contains(r.TaskId)).Sum(r => r.Charged!.Charge), totals.GetProperty("chargedUnsettled").GetDecimal());
        Assert.Equal(traded.Reports.Values.Where(r => expected.Contains(r.TaskId) || inFlight.Contains(r.TaskId)).Sum(r => r.Charged!.Charge),
            totals.GetProperty("charged").GetDecimal());
        Assert.Equal(traded.Reports.Values.Where(r => expected.Contains(r.TaskId)).SelectMany(r => r.Payouts.Values).Sum(p => p.Amount),
            totals.GetProperty("paidToSellers").GetDecimal());
        Assert.Equal(expected.Count + inFlight.Count, report.GetProperty("markets")[0].GetProperty("prices").GetArrayLength());

        // A date-only period that ends before the market opened holds nothing; a bad date is refused.
        stdout = new StringWriter();
        Assert.Equal(0, Dx.Run(["report", "settlement", "--to", "2000-01-01", "--format", "csv", "--postgres", market.Postgres], stdout, stderr));
        Assert.Contains("total,balances,0,0.00000000", stdout.ToString());
        Assert.Equal(2, Dx.Run(["report", "settlement", "--from", "yesterday", "--postgres", market.Postgres], new StringWriter(), stderr));
    });

    [Fact]
    public Task HtmlReport_InAHeadlessBrowser_ShowsThePriceChartTheSellersAndTheTotals() => market.Run(async () =>
    {
        using var cts = Timeout();
        var ct = cts.Token;
        var traded = await market.TradeAsync(ct);
        var html = await market.ReportAsync("html", ct: ct);
        Assert.DoesNotContain("<script", html);
        var json = JsonDocument.Parse(await market.ReportAsync("json", ct: ct)).RootElement;
        var dir = Directory.CreateTempSubdirectory("dx-report-");
        try
        {
            var file = Path.Combine(dir.FullName, "report.html");
            await File.WriteAllTextAsync(file, html, ct);
            var dom = await Chromium(["--dump-dom", new Uri(file).AbsoluteUri], dir.FullName, ct);
            var screenshot = Path.Combine(dir.FullName, "report.png");
            await Chromium([$"--screenshot={screenshot}", "--window-size=1000,1400", new Uri(file).AbsoluteUri], dir.FullName, ct);
            Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot of the report is (nearly) empty");

            // The price chart: one point of the mean-price line per PF* update of the market.
            var chart = Regex.Match(dom, $"<svg[^>]*id=\"price-chart-{Regex.Escape(ReportRenderer.IdPart(traded.MarketId))}\"[^>]*>(.*?)</svg>", RegexOptions.Singleline);
            Assert.True(chart.Success, "no price chart in the rendered page");
            var points = Regex.Match(chart.Groups[1].Value, "<polyline[^>]*class=\"mean-price\"[^>]*points=\"([^\"]*)\"").Groups[1].Value
                .Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(SettlementFixture.TaskCount, points.Length);
            Assert.Equal(SettlementFixture.TaskCount, Regex.Matches(chart.Groups[1].Value, "class=\"quoted-price\"").Count);

            // One bar per seller, labelled with its id.
            var sellers = json.GetProperty("sellers").EnumerateArray().Select(s => s.GetProperty("sellerId").GetString()!).ToList();
            var bars = Regex.Matches(dom, "<g[^>]*class=\"seller-bar\"[^>]*data-seller=\"([^\"]+)\"[^>]*>.*?<text[^>]*class=\"seller-label\"[^>]*>([^<]+)</text>.*?<rect[^>]*class=\"bar\"",
                RegexOptions.Singleline);
            Assert.Equal(sellers, bars.Select(m => m.Groups[1].Value));
            Assert.Equal(sellers, bars.Select(m => m.Groups[2].Value));

            // The totals, as the JSON report states them, and the balance line.
            var totals = json.GetProperty("totals");
            Assert.Contains($"id=\"total-charged\">{ReportRenderer.Money(totals.GetProperty("charged").GetDecimal())}<", dom);
            Assert.Contains($"id=\"total-paid\">{ReportRenderer.Money(totals.GetProperty("paidToSellers").GetDecimal())}<", dom);
            Assert.Contains($"id=\"total-retained\">{ReportRenderer.Money(totals.GetProperty("retained").GetDecimal())}<", dom);
            Assert.Matches("id=\"balances\"[^>]*>balances: yes", dom);
        }
        finally
        {
            dir.Delete(true);
        }
    });

    /// <summary>Runs Debian's chromium headless; FAILS (never skips) when it is not installed.</summary>
    private static async Task<string> Chromium(string[] args, string workDir, CancellationToken ct)
    {
        var exe = new[] { "chromium", "chromium-browser", "google-chrome" }
            .Select(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, n)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null);
        Assert.True(exe is not null, "chromium is not installed: the HTML report must be checked in a real browser (as root: apt-get install -y chromium; test.sh does it)");
        var psi = new ProcessStartInfo(exe!) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(workDir, "profile")}" }.Concat(args))
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(true);
            throw;
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
