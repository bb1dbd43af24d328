using System.Diagnostics;
using EventLog = DataExchange.Integration.Tests.Infrastructure.EventLog;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// One trace from submit to settled: the trace id of the traceparent recorded on a task's TaskSubmitted (ingestion)
/// is the buyer's (who published the task inside a trace of its own) and the one on its TaskPriced (pricing),
/// PaymentCharged (allocation) and TaskSettled (payout).
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class TraceTests(MarketFixture market, ITestOutputHelper output)
{
    private const string BuyerSource = "DataExchange.Integration.Tests.Buyer";
    private static readonly ActivitySource Buyer = new(BuyerSource);

    [Fact]
    public Task ATask_IsOneTrace_FromSubmitToSettled() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);

        // The buyer submits each task in a trace of its own (W3C context on the bus message, as an instrumented buyer
        // would). A task alone, then a burst: the services batch messages, and every task must keep its own trace.
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or BuyerSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var marketId = Scenarios.NewMarketId("trace");
        var buyerTrace = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        async Task<Guid[]> Submit(int count)
        {
            var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
            await Task.WhenAll(Enumerable.Range(0, count).Select(async n =>
            {
                using var activity = Buyer.StartActivity("buyer submits", ActivityKind.Producer)
                    ?? throw new InvalidOperationException("no activity: the listener is not attached");
                buyerTrace[ids[n].ToString()] = activity.TraceId.ToString();
                var b = scenario.Buyers[n];
                await market.Client.SubmitAsync(new SubmitPredictionTask(ids[n], b.Id, b.Valuation, b.Target, 0, null, marketId), ct);
            }));
            return ids;
        }
        var alone = await Submit(1);
        await market.Client.WaitAllAsync(alone, TimeSpan.FromSeconds(120), null, ct);
        var burst = await Submit(16);
        await market.Client.WaitAllAsync(burst, TimeSpan.FromSeconds(120), null, ct);
        var ids = alone.Concat(burst).ToArray();
        var keys = ids.Select(i => i.ToString()).ToArray();

        var submitted = (await market.Events.QueryAsync(EventLog.Ingestion, "task_submitted", keys, ct)).ToDictionary(e => e.StreamId);
        var priced = (await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", keys, ct)).ToDictionary(e => e.Data.TaskId.ToString(), e => e.Event);
        var charged = (await market.Events.QueryAsync(EventLog.Allocation, "payment_charged", keys, ct)).ToDictionary(e => e.StreamId);
        var settled = (await market.Events.QueryAsync(EventLog.Payout, "task_settled", keys, ct)).ToDictionary(e => e.StreamId);

        var broken = new List<string>();
        foreach (var key in keys)
        {
            var trace = submitted[key].TraceId;
            Assert.False(string.IsNullOrEmpty(trace), $"task {key}: no traceparent on its task_submitted event (headers {submitted[key].HeadersJson})");
            Assert.NotEqual(new string('0', 32), trace);
            var hops = new[] { ("task_priced", priced[key]), ("payment_charged", charged[key]), ("task_settled", settled[key]) };
            var line = $"task {key}: buyer {buyerTrace[key]}, task_submitted {trace}";
            if (trace != buyerTrace[key]) broken.Add($"task {key}: task_submitted is on trace {trace}, the buyer submitted it on {buyerTrace[key]}");
            foreach (var (name, e) in hops)
            {
                line += $", {name} {e.TraceId ?? "(none)"}";
                if (e.TraceId != trace) broken.Add($"task {key}: {name} is on trace {e.TraceId ?? "(none)"}, task_submitted on {trace}");
            }
            output.WriteLine(line);
        }
        output.WriteLine($"{keys.Select(k => submitted[k].TraceId).Distinct().Count()} distinct traces for {keys.Length} tasks at submit");
        Assert.True(broken.Count == 0, $"{broken.Count} hops left the task's trace:\n{string.Join('\n', broken)}");
    });
}
