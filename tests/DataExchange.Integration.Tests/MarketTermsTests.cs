using System.Net;
using System.Net.Http.Json;
using DataExchange.Cli;
using DataExchange.Cli.Audit;
using DataExchange.Cli.Market;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// A market's terms are the market's: opened once with them, recorded (MarketOpened), carried with every task and used by
/// every service, whatever the services' own configuration says (theirs is K = 200, lambda = ln 2, no fee). And a task's
/// randomness is the market's own draw: a buyer that sends a seed is refused.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class MarketTermsTests(MarketFixture market, ITestOutputHelper output)
{
    private string PricingUrl => market.Processes.First(p => p.Name.StartsWith("pricing", StringComparison.Ordinal) && !p.HasExited).Url;

    private static MechanismTerms TermsOf(MarketParameters p) => Terms.Record(p);

    [Fact]
    public Task Each_market_settles_under_the_terms_it_opened_with() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);

        // Three markets, none with the services' defaults: a small K with a fee and another lambda and ridge; the paper's
        // (eps, delta) target; exact Shapley over all 2^20 coalitions.
        var markets = new[]
        {
            (Id: Scenarios.NewMarketId("terms-k"), Parameters: MarketParameters.Default with
                { ShapleyPermutations = 37, MarketFeeRate = 0.05m, RobustnessLambda = 1.0, RidgeAlpha = 0.5, IntegralPoints = 9 }),
            (Id: Scenarios.NewMarketId("terms-eps"), Parameters: MarketParameters.Default with { ShapleyTarget = new ShapleyAccuracy(0.1, 0.1) }),
            (Id: Scenarios.NewMarketId("terms-exact"), Parameters: MarketParameters.Default with { ExactShapley = true }),
            (Id: Scenarios.NewMarketId("terms-rule"), Parameters: MarketParameters.Default with { PayoutRule = PayoutRule.Thresholded }),
        };
        foreach (var (id, parameters) in markets)
            await MarketTermsOptions.OpenAsync(PricingUrl, market.Keys, new OpenMarket(id, TermsOf(parameters)), ct);

        var ids = new List<(Guid Task, int Market)>();
        for (var k = 0; k < markets.Length; k++)
            for (var n = 0; n < 4; n++)
            {
                var b = scenario.Buyers[10 * k + n];
                var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, markets[k].Id);
                await market.Client.SubmitAsync(task, ct);
                ids.Add((task.TaskId, k));
            }
        await market.Client.WaitAllAsync(ids.Select(i => i.Task).ToArray(), TimeSpan.FromMinutes(4), null, ct);

        var keys = ids.Select(i => i.Task.ToString()).ToArray();
        var settled = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var allocated = (await market.Events.QueryAsync<FeaturesAllocated>(EventLog.Allocation, "features_allocated", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var opened = (await market.Events.QueryAsync<MarketOpened>(EventLog.Pricing, "market_opened", markets.Select(m => m.Id), ct)).ToDictionary(e => e.Data.MarketId, e => e.Data);
        foreach (var (task, k) in ids)
        {
            var (marketId, parameters) = markets[k];
            var terms = TermsOf(parameters);
            Assert.Equal(terms, opened[marketId].Terms);
            Assert.Equal(terms, allocated[task].Terms);
            var s = settled[task];
            Assert.Equal(terms, s.Terms);
            var expectedPermutations = k switch { 0 => 37, 2 => 0, 3 => 200, _ => -1 };
            if (expectedPermutations >= 0) Assert.Equal(expectedPermutations, s.ShapleyPermutations);
            else Assert.InRange(s.ShapleyPermutations, 2, Shapley.PaperPermutations(allocated[task].SellerIds.Length, new ShapleyAccuracy(0.1, 0.1)));
            Assert.Equal(k == 0 ? Math.Round(s.Charge * 0.05m, 8, MidpointRounding.ToZero) : 0m, s.Fee);
            Assert.Equal(s.Charge, s.PaidToSellers + s.Retained + s.Fee);
            // And the task recomputes bit for bit with the market's terms.
            var audit = await TaskAudit.RunAsync(market.Postgres, task, ct);
            Assert.True(audit.Passed, $"task {task}: " + string.Join("; ", audit.Differences.Select(d => $"{d.Field}: {d.Recorded} vs {d.Recomputed}")));
            output.WriteLine($"market {marketId}: task {task} K = {s.ShapleyPermutations}, charge {s.Charge}, fee {s.Fee}");
        }
        Assert.True(settled.Values.Sum(s => s.Charge) > 0, "nothing was charged");
        // The thresholded market pays its sellers (almost) all of each charge; the paper's rule withholds almost all of it.
        var thresholded = ids.Where(i => i.Market == 3).Select(i => settled[i.Task]).ToList();
        var paper = ids.Where(i => i.Market == 0).Select(i => settled[i.Task]).ToList();
        Assert.True(thresholded.Sum(s => s.PaidToSellers) >= 0.9m * thresholded.Sum(s => s.Charge),
            $"thresholded paid {thresholded.Sum(s => s.PaidToSellers)} of {thresholded.Sum(s => s.Charge)}");
        Assert.True(paper.Sum(s => s.PaidToSellers) < 0.2m * paper.Sum(s => s.Charge));
    });

    [Fact]
    public Task Opening_a_market_is_the_operators_and_its_terms_never_change() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var id = Scenarios.NewMarketId("open");
        var terms = TermsOf(MarketParameters.Default with { ShapleyPermutations = 50 });
        using var http = new HttpClient { BaseAddress = new Uri(PricingUrl) };
        async Task<(HttpStatusCode Status, string Body)> Post(OpenMarket body, string? key)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/markets") { Content = JsonContent.Create(body) };
            if (key is not null) request.Headers.Add(ParticipantKeys.Header, key);
            using var response = await http.SendAsync(request, ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
        }
        var operatorKey = market.Keys.Issue(ParticipantRole.Operator, "ops");

        // A buyer (or no key) cannot open a market, so no participant can open one whose terms it chose.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(new OpenMarket(id, terms), null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(new OpenMarket(id, terms), market.Keys.Issue(ParticipantRole.Buyer, "b1"))).Status);
        // Bad terms name the field.
        var bad = await Post(new OpenMarket(id, terms with { RidgeAlpha = -1 }), operatorKey);
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Contains("terms.ridgeAlpha", bad.Body);
        var badEps = await Post(new OpenMarket(id, terms with { ShapleyEpsilon = 2, ShapleyDelta = 0.1 }), operatorKey);
        Assert.Equal(HttpStatusCode.BadRequest, badEps.Status);
        Assert.Contains("terms.shapleyEpsilon", badEps.Body);
        var badGain = await Post(new OpenMarket(id, terms with { Gain = "Accuracy" }), operatorKey);
        Assert.Equal(HttpStatusCode.BadRequest, badGain.Status);
        Assert.Contains("terms.gain", badGain.Body);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(new OpenMarket("no spaces", terms), operatorKey)).Status);
        // Opened once; again with the same terms is fine; with other terms refused, and the market keeps its terms.
        Assert.Equal(HttpStatusCode.Created, (await Post(new OpenMarket(id, terms), operatorKey)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post(new OpenMarket(id, terms), operatorKey)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await Post(new OpenMarket(id, terms with { ShapleyPermutations = 51 }), operatorKey)).Status);
        var opened = await market.Events.QueryAsync<MarketOpened>(EventLog.Pricing, "market_opened", [id], ct);
        Assert.Single(opened);
        Assert.Equal(terms, opened[0].Data.Terms);
        // dx market run says so in words.
        var e = await Assert.ThrowsAsync<UsageException>(() =>
            MarketTermsOptions.OpenAsync(PricingUrl, market.Keys, new OpenMarket(id, terms with { ShapleyPermutations = 52 }), ct));
        Assert.Contains("already open with other terms", e.Message);
    });

    [Fact]
    public Task A_buyer_cannot_choose_its_seed_and_the_market_draws_its_own() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("seed");
        var b = scenario.Buyers[50];

        // A seed sent on the bus or over HTTP is refused by name, and nothing else happens to the task.
        var seeded = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, 12345, marketId);
        await market.Client.SubmitAsync(seeded, ct);
        var r = await market.Client.WaitAsync(seeded.TaskId, x => x.Rejected is not null, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("seed", r.Rejected!.Field);
        Assert.Contains("the market draws", r.Rejected.Reason);
        using var http = market.ParticipantHttp();
        using (var response = await http.PostAsJsonAsync("/tasks", seeded with { TaskId = Guid.NewGuid() }, ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("seed", await response.Content.ReadAsStringAsync(ct));
        }
        Assert.Empty(await market.Events.QueryAsync(EventLog.Pricing, "task_priced", [seeded.TaskId.ToString()], ct));

        // The same buyer's identical tasks (same bid, same target, consecutive in the same market) get independent draws.
        var tasks = Enumerable.Range(0, 6).Select(_ => new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId)).ToList();
        foreach (var t in tasks) await market.Client.SubmitAsync(t, ct);
        await market.Client.WaitAllAsync(tasks.Select(t => t.TaskId).ToArray(), TimeSpan.FromMinutes(2), null, ct);
        var priced = await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", tasks.Select(t => t.TaskId.ToString()), ct);
        Assert.Equal(tasks.Count, priced.Select(p => p.Data.Seed).Distinct().Count());
        // Not the derivation from the task id that a buyer could compute (and so search over) offline.
        Assert.DoesNotContain(priced, p => p.Data.Seed == TaskSeeds.TaskSeed(p.Data.TaskId));
    });
}
