using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DataExchange.Cli.Market;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using DataExchange.Settlement;
using Xunit;

namespace DataExchange.Integration.Tests;

/// <summary>A market of its own: every line a seller can read here comes from these tests' tasks.</summary>
public sealed class CatchUpFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class CatchUpCollection : ICollectionFixture<CatchUpFixture>
{
    public const string Name = "catch-up";
}

/// <summary>
/// Subscribers never miss a payout: a seller that first connects after tasks settled reads every one of its payment
/// lines from the payout log, each once and only its own, the same whatever the page size; a buyer likewise its results;
/// `dx watch payouts --since` catches up and then goes on live, each line once.
/// </summary>
[Collection(CatchUpCollection.Name)]
public sealed class CatchUpTests(CatchUpFixture market)
{
    private const int Tasks = 9;
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static Guid[]? _settled;

    private string Url(string service) => market.Processes.First(p => p.Name.StartsWith(service, StringComparison.OrdinalIgnoreCase) && !p.HasExited).Url;

    /// <summary>The tasks that settled before anyone asked (once for the class): buyers 0..8, buyer 0 twice.</summary>
    private async Task<Guid[]> SettledAsync(CancellationToken ct)
    {
        await Once.WaitAsync(ct);
        try
        {
            if (_settled is not null) return _settled;
            var scenario = Scenarios.Standard.Value;
            await market.EnsureSellersAsync(scenario.Sellers, ct);
            var marketId = Scenarios.NewMarketId("catchup");
            var ids = new List<Guid>();
            foreach (var n in Enumerable.Range(0, Tasks - 1).Append(0))
            {
                var b = scenario.Buyers[n];
                var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
                ids.Add(task.TaskId);
                await market.Client.SubmitAsync(task, ct);
            }
            await market.Client.WaitAllAsync(ids, TimeSpan.FromSeconds(180), null, ct);
            Assert.All(ids, id => Assert.True(market.Client.Report(id).SettledWithPayouts, $"task {id} did not settle"));
            return _settled = [.. ids];
        }
        finally
        {
            Once.Release();
        }
    }

    private static string Seller(int m) => Scenarios.Standard.Value.Sellers.SellerIds[m];

    private HttpClient Http(string service, string key)
    {
        var http = new HttpClient { BaseAddress = new Uri(Url(service) + "/") };
        http.DefaultRequestHeaders.Add(ParticipantKeys.Header, key);
        return http;
    }

    /// <summary>Every line of the seller through the client, pages of <paramref name="pageSize"/>, once the projection has them all.</summary>
    private async Task<List<PayoutLineView>> LinesAsync(string seller, int expected, int pageSize, CancellationToken ct, long after = 0)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Url("Payout") + "/") };
        var lines = new List<PayoutLineView>();
        var reached = await MarketFixture.EventuallyAsync(async () =>
        {
            var catchUp = new PayoutCatchUp(http, seller, market.Keys.Issue(ParticipantRole.Seller, seller), pageSize);
            lines = [];
            await foreach (var l in catchUp.LinesAsync(after, null, ct)) lines.Add(l);
            return lines.Count >= expected;
        }, TimeSpan.FromSeconds(60), ct);
        Assert.True(reached, $"{seller}: {lines.Count} of {expected} lines after 60 s");
        return lines;
    }

    [Fact]
    public Task A_seller_that_connects_after_the_tasks_settled_catches_up_on_each_of_its_lines_once() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var ids = await SettledAsync(ct);
        var seller = Seller(2);
        // What the market paid this seller for these tasks, as heard on the bus.
        var paid = ids.ToDictionary(id => id, id => market.Client.Report(id).Payouts[seller]);

        var small = await LinesAsync(seller, ids.Length, pageSize: 2, ct);
        Assert.Equal(ids.Length, small.Count);
        Assert.All(small, l => Assert.Equal(seller, l.SellerId));
        Assert.Equal(ids.Order(), small.Select(l => l.TaskId).Order());
        foreach (var l in small)
        {
            Assert.Equal(paid[l.TaskId].Amount, l.Amount);
            Assert.Equal(paid[l.TaskId].Share, l.Share);
        }
        // Log order: cursors strictly increase, and follow the settlements' order in the payout log.
        Assert.True(small.Zip(small.Skip(1)).All(p => p.First.Cursor < p.Second.Cursor), "cursors do not increase");
        var settledOrder = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", ids.Select(i => i.ToString()).ToArray(), ct))
            .OrderBy(e => e.Event.SeqId).Select(e => e.Data.TaskId);
        Assert.Equal(settledOrder, small.Select(l => l.TaskId));

        // One big page gives the same lines; the raw endpoint says where to go on and that nothing more is there.
        using var http = Http("Payout", market.Keys.Issue(ParticipantRole.Seller, seller));
        var page = (await http.GetFromJsonAsync<PayoutLinePage>($"sellers/{seller}/payouts?after=0&limit=1000", ct))!;
        Assert.Equal(small, page.Lines);
        Assert.True(page.CaughtUp);
        Assert.Equal(small[^1].Cursor, page.Next);
        var rest = (await http.GetFromJsonAsync<PayoutLinePage>($"sellers/{seller}/payouts?after={page.Next}", ct))!;
        Assert.Empty(rest.Lines);
        Assert.Equal(page.Next, rest.Next);
        // Resuming from the middle gives exactly the lines after it.
        var middle = small[3].Cursor;
        var resumed = (await http.GetFromJsonAsync<PayoutLinePage>($"sellers/{seller}/payouts?after={middle}&limit=1000", ct))!;
        Assert.Equal(small.Skip(4), resumed.Lines);
        // A page that is full says so.
        var full = (await http.GetFromJsonAsync<PayoutLinePage>($"sellers/{seller}/payouts?after=0&limit=3", ct))!;
        Assert.Equal(small.Take(3), full.Lines);
        Assert.False(full.CaughtUp);

        // From a time: the lines settled at or after it, in log order; from the future: none, and next skips what is there.
        var from = small.Select(l => l.SettledAt).Order().ElementAt(4);
        var fromPage = (await http.GetFromJsonAsync<PayoutLinePage>(
            $"sellers/{seller}/payouts?from={Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture))}&limit=1000", ct))!;
        Assert.Equal(small.Where(l => l.SettledAt >= from), fromPage.Lines);
        Assert.True(fromPage.Lines.Count >= Tasks - 4);
        var future = (await http.GetFromJsonAsync<PayoutLinePage>($"sellers/{seller}/payouts?from=2100-01-01T00:00:00Z", ct))!;
        Assert.Empty(future.Lines);
        Assert.Equal(small[^1].Cursor, future.Next);

        // Without after/from/limit the summary is as before.
        var summary = JsonDocument.Parse(await http.GetStringAsync($"sellers/{seller}/payouts", ct)).RootElement;
        Assert.Equal(paid.Values.Sum(p => p.Amount), summary.GetProperty("balance").GetDecimal());
    });

    [Fact]
    public Task A_seller_cannot_read_another_sellers_lines_nor_a_buyer_another_buyers_results() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        await SettledAsync(ct);
        var keys = market.Keys;
        var scenario = Scenarios.Standard.Value;
        async Task<HttpStatusCode> Status(string service, string path, string? key)
        {
            using var http = new HttpClient { BaseAddress = new Uri(Url(service) + "/") };
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (key is not null) request.Headers.Add(ParticipantKeys.Header, key);
            using var response = await http.SendAsync(request, ct);
            return response.StatusCode;
        }
        var (a, b) = (Seller(0), Seller(1));
        Assert.Equal(HttpStatusCode.Forbidden, await Status("Payout", $"sellers/{a}/payouts?after=0", keys.Issue(ParticipantRole.Seller, b)));
        Assert.Equal(HttpStatusCode.Forbidden, await Status("Payout", $"sellers/{a}/payouts?after=0", keys.Issue(ParticipantRole.Buyer, a)));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status("Payout", $"sellers/{a}/payouts?after=0", null));
        Assert.Equal(HttpStatusCode.OK, await Status("Payout", $"sellers/{a}/payouts?after=0", keys.Issue(ParticipantRole.Seller, a)));
        var (owner, other) = (scenario.Buyers[0].Id, scenario.Buyers[1].Id);
        Assert.Equal(HttpStatusCode.Forbidden, await Status("Allocation", $"buyers/{owner}/results?after=0", keys.Issue(ParticipantRole.Buyer, other)));
        Assert.Equal(HttpStatusCode.Forbidden, await Status("Allocation", $"buyers/{owner}/results?after=0", keys.Issue(ParticipantRole.Seller, owner)));
        Assert.Equal(HttpStatusCode.Unauthorized, await Status("Allocation", $"buyers/{owner}/results", null));
        // A seller's own lines are only its own (checked on every line of a full read).
        var lines = await LinesAsync(b, Tasks, 4, ct);
        Assert.All(lines, l => Assert.Equal(b, l.SellerId));
    });

    [Fact]
    public Task A_buyer_catches_up_on_its_results_with_predictions_and_charges() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var ids = await SettledAsync(ct);
        var buyer = Scenarios.Standard.Value.Buyers[0].Id;
        var mine = ids.Where(id => market.Client.Report(id).Charged!.BuyerId == buyer).ToHashSet();
        Assert.Equal(2, mine.Count);
        using var http = Http("Allocation", market.Keys.Issue(ParticipantRole.Buyer, buyer));
        var results = new List<BuyerResultView>();
        var reached = await MarketFixture.EventuallyAsync(async () =>
        {
            // One result a page: the cursor has to carry it from the first to the second.
            results = [];
            long after = 0;
            while (true)
            {
                var page = (await http.GetFromJsonAsync<BuyerResultPage>($"buyers/{buyer}/results?after={after}&limit=1", ct))!;
                results.AddRange(page.Results);
                if (page.Results.Count == 0) break;
                Assert.True(page.Next > after);
                after = page.Next;
            }
            return results.Count >= mine.Count;
        }, TimeSpan.FromSeconds(60), ct);
        Assert.True(reached, $"{results.Count} of {mine.Count} results");
        Assert.Equal(mine.Order(), results.Select(r => r.TaskId).Order());
        foreach (var r in results)
        {
            var report = market.Client.Report(r.TaskId);
            Assert.Equal(report.Charged!.Charge, r.Charge);
            Assert.Equal(report.Prediction!.Gain, r.Gain);
            Assert.Equal(report.Prediction.PredictionFromStep, r.PredictionFromStep);
            Assert.Equal(report.Prediction.Predictions, r.Predictions);
            Assert.NotEmpty(r.Predictions);
        }
        // Another buyer's results never include these.
        var other = Scenarios.Standard.Value.Buyers[1].Id;
        using var otherHttp = Http("Allocation", market.Keys.Issue(ParticipantRole.Buyer, other));
        var theirs = (await otherHttp.GetFromJsonAsync<BuyerResultPage>($"buyers/{other}/results?after=0&limit=100", ct))!;
        Assert.Single(theirs.Results);
        Assert.DoesNotContain(theirs.Results, r => mine.Contains(r.TaskId));
    });

    [Theory]
    [InlineData("Payout", "after=-1", "after")]
    [InlineData("Payout", "after=abc", "after")]
    [InlineData("Payout", "after=0&limit=0", "limit")]
    [InlineData("Payout", "limit=-5", "limit")]
    [InlineData("Payout", "limit=100000", "limit")]
    [InlineData("Payout", "from=yesterday", "from")]
    [InlineData("Payout", "after=0&from=2026-12-01T00:00:00Z", "from")]
    [InlineData("Allocation", "after=1.5", "after")]
    [InlineData("Allocation", "limit=101", "limit")]
    [InlineData("Allocation", "from=2026-13-45", "from")]
    public Task Bad_catch_up_requests_are_refused_naming_the_field(string service, string query, string field) => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var (path, key) = service == "Payout"
            ? ($"sellers/{Seller(0)}/payouts?{query}", market.Keys.Issue(ParticipantRole.Seller, Seller(0)))
            : ($"buyers/{Scenarios.Standard.Value.Buyers[0].Id}/results?{query}", market.Keys.Issue(ParticipantRole.Buyer, Scenarios.Standard.Value.Buyers[0].Id));
        using var http = Http(service, key);
        using var response = await http.GetAsync(path, ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"the problem does not name {field}: {problem}");
    });

    [Fact]
    public Task Watch_since_a_cursor_catches_up_then_goes_on_live_each_line_once() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var ids = await SettledAsync(ct);
        var seller = Seller(5);
        var lines = await LinesAsync(seller, ids.Length, 100, ct);
        var since = lines[2].Cursor;
        const int live = 3;
        var expectedCount = lines.Count - 3 + live;
        // The bus handler writes from its own threads: synchronized writers (they lock themselves), read under the same lock.
        var (outText, errText) = (new StringWriter(CultureInfo.InvariantCulture), new StringWriter(CultureInfo.InvariantCulture));
        var (stdout, stderr) = (TextWriter.Synchronized(outText), TextWriter.Synchronized(errText));
        string Read(TextWriter w, StringWriter text) { lock (w) return text.ToString(); }
        var watch = Task.Run(() => DataExchange.Cli.Dx.Run(["watch", "payouts", "--seller", seller, "--since", since.ToString(CultureInfo.InvariantCulture),
            "--count", expectedCount.ToString(CultureInfo.InvariantCulture), "--rabbitmq", market.RabbitMq, "--payout", Url("Payout"),
            "--key", market.Keys.Issue(ParticipantRole.Seller, seller)], stdout, stderr), ct);
        // Live once caught up: new tasks settle while the watch listens.
        Assert.True(await MarketFixture.EventuallyAsync(() => Task.FromResult(Read(stderr, errText).Contains("watching payouts") || watch.IsCompleted),
            TimeSpan.FromSeconds(60), ct), "the watch did not start: " + Read(stderr, errText));
        var scenario = Scenarios.Standard.Value;
        var marketId = Scenarios.NewMarketId("catchup-live");
        var fresh = new List<Guid>();
        for (var n = 20; n < 20 + live; n++)
        {
            var b = scenario.Buyers[n];
            var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
            fresh.Add(task.TaskId);
            await market.Client.SubmitAsync(task, ct);
        }
        var code = await watch.WaitAsync(TimeSpan.FromSeconds(120), ct);
        Assert.True(code == 0, Read(stderr, errText));
        var printed = Read(stdout, outText).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expectedCount, printed.Length);
        var tasks = printed.Select(l => Guid.Parse(l.Split("task ")[1][..36])).ToList();
        Assert.Equal(tasks.Count, tasks.Distinct().Count());
        Assert.Equal(lines.Skip(3).Select(l => l.TaskId).Concat(fresh).Order(), tasks.Order());
        // The caught-up lines come first, in log order, each with its cursor.
        Assert.Equal(lines.Skip(3).Select(l => $"cursor {l.Cursor}"), printed.Take(lines.Count - 3).Select(l => l[l.IndexOf("cursor ", StringComparison.Ordinal)..]));
        Assert.All(printed, l => Assert.Contains($"seller {seller} ", l));
        var resume = long.Parse(Read(stderr, errText).Split("resume with --since ")[1].Trim(), CultureInfo.InvariantCulture);
        Assert.True(resume >= lines[^1].Cursor, $"resume point {resume} is before the last caught-up line {lines[^1].Cursor}");
    });

    [Fact]
    public Task Market_run_that_times_out_lists_the_unconfirmed_tasks_with_exit_code_5() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        await market.EnsureSellersAsync(Scenarios.Standard.Value.Sellers, ct);
        // A bus where no service listens: the tasks are published and never settle.
        var vhost = $"{market.Vhost}-silent";
        await market.Rabbit.CreateVhostAsync(vhost, ct);
        try
        {
            var silent = new UriBuilder(market.RabbitMq) { Path = "/" + Uri.EscapeDataString(vhost) }.Uri.ToString();
            Environment.SetEnvironmentVariable("DX_KEY_SECRET", market.KeySecret);
            var (outText, errText) = (new StringWriter(CultureInfo.InvariantCulture), new StringWriter(CultureInfo.InvariantCulture));
            // The standard scenario's sellers (same seed and shape), so registering them again changes nothing.
            var code = DataExchange.Cli.Dx.Run(["market", "run", "--sellers", "20", "--steps", "400", "--seed", "42", "--buyers", "3",
                "--timeout", "3", "--no-progress", "--ingestion", market.IngestionUrl, "--rabbitmq", silent], outText, errText);
            var err = errText.ToString();
            Assert.True(code == 5, $"exit {code}: {err}");
            Assert.Contains("3 of 3 tasks unconfirmed after 3 s", err);
            Assert.Contains("dx audit task ID", err);
            Assert.DoesNotContain("   at ", err);
            var listed = outText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, listed.Length);
            Assert.All(listed, l => Guid.Parse(l));
        }
        finally
        {
            Environment.SetEnvironmentVariable("DX_KEY_SECRET", null);
            await market.Rabbit.DeleteVhostAsync(vhost, CancellationToken.None);
        }
    });

    [Fact]
    public Task Cursors_survive_a_projection_rebuild() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var ids = await SettledAsync(ct);
        var seller = Seller(7);
        var before = await LinesAsync(seller, ids.Length, 100, ct);
        var results = await DataExchange.Cli.Reports.ProjectionsCommand.RebuildAsync(market.Postgres,
            [SettlementProjections.PayoutSchema, SettlementProjections.AllocationSchema], new StringWriter(), TimeSpan.FromMinutes(2), ct);
        Assert.Equal(["SellerAccount", "TaskSettlement", "PayoutLine", "BuyerPurchase", "BuyerResult"], results.Select(r => r.Projection));
        var after = await LinesAsync(seller, before.Count, 100, ct);
        Assert.Equal(before, after);
    });
}
