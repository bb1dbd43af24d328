using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
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
/// The paper's other settings through the four services (issue 17): a classification market with sampling allocation and
/// Hellinger similarity, opened with its terms, settles, balances between the two services' logs and audits bit for bit;
/// tasks of the wrong kind and bad labels are refused by field, on the bus and over HTTP; bad terms are refused by field.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class SettingsMarketTests(MarketFixture market, ITestOutputHelper output)
{
    private string PricingUrl => market.Processes.First(p => p.Name.StartsWith("pricing", StringComparison.Ordinal) && !p.HasExited).Url;

    private static readonly MarketParameters ClassifyBySampling = MarketParameters.Default with
    {
        TaskKind = TaskKind.Classification, Allocation = AllocationKind.Sampling, Similarity = SimilarityKind.Hellinger,
        PayoutRule = PayoutRule.Thresholded, ShapleyPermutations = 60,
    };

    [Fact]
    public Task A_classification_market_with_sampling_allocation_settles_balances_and_audits() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var scenario = SyntheticMarket.WithClassLabels(Scenarios.Standard.Value, 3);
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("classify");
        var terms = Terms.Record(ClassifyBySampling);
        Assert.Equal("sampling", terms.Allocation);
        Assert.Equal("classification", terms.TaskKind);
        Assert.Equal("hellinger", terms.Similarity);
        await MarketTermsOptions.OpenAsync(PricingUrl, market.Keys, new OpenMarket(marketId, terms), ct);

        var tasks = Enumerable.Range(0, 6).Select(n =>
        {
            var b = scenario.Buyers[60 + n];
            return new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId, TaskKinds.Classification);
        }).ToList();
        foreach (var t in tasks) await market.Client.SubmitAsync(t, ct);
        await market.Client.WaitAllAsync(tasks.Select(t => t.TaskId).ToArray(), TimeSpan.FromMinutes(4), null, ct);

        var keys = tasks.Select(t => t.TaskId.ToString()).ToArray();
        var opened = Assert.Single(await market.Events.QueryAsync<MarketOpened>(EventLog.Pricing, "market_opened", [marketId], ct));
        Assert.Equal(terms, opened.Data.Terms);
        var charged = (await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var delivered = (await market.Events.QueryAsync<PredictionDelivered>(EventLog.Allocation, "prediction_delivered", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        var settled = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", keys, ct)).ToDictionary(e => e.Data.TaskId, e => e.Data);
        Assert.Equal(tasks.Count, settled.Count);
        foreach (var t in tasks)
        {
            var s = settled[t.TaskId];
            Assert.Equal(terms, charged[t.TaskId].Terms);
            Assert.Equal(terms, s.Terms);
            Assert.Equal(60, s.ShapleyPermutations);
            // The buyer receives class labels, of the classes its target has.
            var classes = t.Target.Distinct().ToHashSet();
            Assert.All(delivered[t.TaskId].Predictions, v => Assert.Contains(v, classes));
            Assert.InRange(delivered[t.TaskId].Gain, 0.0, 1.0);
            Assert.Equal(s.Charge, s.PaidToSellers + s.Retained + s.Fee);
            // Recomputed from the log with the market's terms: every field agrees bit for bit.
            var audit = await TaskAudit.RunAsync(market.Postgres, t.TaskId, ct);
            Assert.True(audit.Passed, $"task {t.TaskId}: " + string.Join("; ", audit.Differences.Select(d => $"{d.Field}: {d.Recorded} vs {d.Recomputed}")));
            Assert.Contains(audit.Notes, n => n.Contains("allocation sampling") && n.Contains("task classification") && n.Contains("similarity hellinger"));
            output.WriteLine($"task {t.TaskId}: gain {delivered[t.TaskId].Gain:F4}, charge {s.Charge}, paid {s.PaidToSellers}, retained {s.Retained}");
        }
        // The ledger from the two services' own logs: what allocation charged is what payout split, exactly.
        Assert.Equal(charged.Values.Sum(c => c.Charge), settled.Values.Sum(s => s.PaidToSellers + s.Retained + s.Fee));
        Assert.True(charged.Values.Sum(c => c.Charge) > 0, "nothing was charged");
        Assert.True(delivered.Values.Any(d => d.Gain > 0), "no buyer gained anything");
    });

    [Fact]
    public Task Tasks_of_the_wrong_kind_and_bad_labels_are_refused_by_field() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var regression = Scenarios.Standard.Value;
        var labelled = SyntheticMarket.WithClassLabels(regression, 2);
        await market.EnsureSellersAsync(regression.Sellers, ct);
        var classifying = Scenarios.NewMarketId("kinds");
        await MarketTermsOptions.OpenAsync(PricingUrl, market.Keys, new OpenMarket(classifying, Terms.Record(ClassifyBySampling)), ct);
        var b = labelled.Buyers[70];

        async Task<TaskRejected> Refused(SubmitPredictionTask task)
        {
            await market.Client.SubmitAsync(task, ct);
            var r = await market.Client.WaitAsync(task.TaskId, x => x.Rejected is not null || x.Settled is not null, TimeSpan.FromSeconds(90), ct);
            Assert.True(r.Rejected is not null, $"task {task.TaskId} was not refused");
            return r.Rejected!;
        }

        // Labels on a regression market (the default market trades regression).
        var onRegression = await Refused(new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, Scenarios.NewMarketId("regr"), TaskKinds.Classification));
        Assert.Equal("kind", onRegression.Field);
        Assert.Contains("trades regression tasks", onRegression.Reason);
        // A series on the classification market.
        var series = await Refused(new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, regression.Buyers[70].Target, 0, null, classifying));
        Assert.Equal("kind", series.Field);
        Assert.Contains("trades classification tasks", series.Reason);
        // One class only; a label that is not an integer; an unknown kind.
        var one = await Refused(new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, Enumerable.Repeat(1.0, 400).ToArray(), 0, null, classifying, TaskKinds.Classification));
        Assert.Equal("target", one.Field);
        Assert.Contains("1 class", one.Reason);
        var fraction = (double[])b.Target.Clone();
        fraction[5] = 0.5;
        var half = await Refused(new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, fraction, 0, null, classifying, TaskKinds.Classification));
        Assert.Equal("target[5]", half.Field);
        Assert.Contains("not a class label", half.Reason);
        var unknown = await Refused(new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, classifying, "ranking"));
        Assert.Equal("kind", unknown.Field);

        // NaN labels over HTTP: 400 naming the label, recorded as the task's refusal.
        var taskId = Guid.NewGuid();
        var labels = string.Join(",", b.Target.Skip(1).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var body = $"{{\"taskId\":\"{taskId}\",\"buyerId\":\"{b.Id}\",\"bid\":1.2,\"target\":[\"NaN\",{labels}],\"marketId\":\"{classifying}\",\"kind\":\"classification\"}}";
        using var http = market.ParticipantHttp();
        using (var response = await http.PostAsync("/tasks", new StringContent(body, Encoding.UTF8, "application/json"), ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.True(problem.GetProperty("errors").TryGetProperty("target[0]", out var why), $"the problem does not name target[0]: {problem}");
            Assert.Contains("NaN", why[0].GetString());
        }
        Assert.Equal("target[0]", Assert.Single(await market.Events.QueryAsync<TaskRejected>(EventLog.Ingestion, "task_rejected", [taskId.ToString()], ct)).Data.Field);
        // Nothing refused was priced.
        var refused = new[] { onRegression, series, one, half, unknown }.Select(r => r.TaskId.ToString()).Append(taskId.ToString()).ToArray();
        Assert.Empty(await market.Events.QueryAsync(EventLog.Pricing, "task_priced", refused, ct));
    });

    [Fact]
    public Task Bad_terms_for_the_new_settings_are_refused_by_field() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var terms = Terms.Record(ClassifyBySampling);
        using var http = new HttpClient { BaseAddress = new Uri(PricingUrl) };
        async Task<string> BadRequest(MechanismTerms t)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/markets") { Content = JsonContent.Create(new OpenMarket(Scenarios.NewMarketId("badterms"), t)) };
            request.Headers.Add(ParticipantKeys.Header, market.Keys.Issue(ParticipantRole.Operator, "ops"));
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
            return text;
        }
        Assert.Contains("terms.allocation", await BadRequest(terms with { Allocation = "masking" }));
        Assert.Contains("terms.taskKind", await BadRequest(terms with { TaskKind = "ranking" }));
        Assert.Contains("terms.similarity", await BadRequest(terms with { Similarity = "jaccard" }));
        var interventional = await BadRequest(terms with { PayoutRule = "interventional", SimilarityThreshold = null, Similarity = null });
        Assert.Contains("terms.payoutRule", interventional);
        Assert.Contains("classification market", interventional);
    });
}
