using DataExchange.Contracts;
using DataExchange.Idempotency;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Marten;
using MassTransit;
using Polly;

namespace DataExchange.Pricing;

/// <summary>
/// Quotes (Alg. 1: a price drawn from the weights before the bid is seen) and updates (PF*). Updates are events on the
/// market's stream, written with the stream's expected version: a second instance that wrote first makes this one
/// re-read and retry, so the weights are never corrupted and each update is applied once.
/// </summary>
public sealed class MarketPricer(IDocumentStore store, IDocumentSession session, MarketSettings settings, ResiliencePipeline retry, MarketMetrics metrics)
{
    /// <summary>
    /// Quotes a batch of tasks from the market's current weights. A quote only reads the market (the weights change
    /// only on updates), so each TaskPriced starts the task's own stream, recording the market version it was drawn
    /// at; quotes never contend with updates, or with another instance's quotes, for the market stream.
    /// </summary>
    public async Task Quote(IReadOnlyList<ConsumeContext<TaskSubmitted>> tasks, CancellationToken ct)
    {
        // The idempotency check and the markets' weights in one round trip (a lone task waits for each).
        var reads = session.CreateBatchQuery();
        var freshRead = TaskMarkers.Fresh<PricedTask>(reads, tasks.Select(t => t.Message.TaskId));
        var marketsRead = reads.LoadMany<MarketPricing>().ById(tasks.Select(t => t.Message.MarketId).Distinct().ToArray());
        await reads.Execute(ct);
        var fresh = await freshRead;
        if (fresh.Count == 0) return;
        var markets = (await marketsRead).ToDictionary(m => m.Id, StringComparer.Ordinal);
        foreach (var market in tasks.Where(t => fresh.Contains(t.Message.TaskId)).DistinctBy(t => t.Message.TaskId).GroupBy(t => t.Message.MarketId))
        {
            var pricing = markets.GetValueOrDefault(market.Key) ?? await OpenAsync(new OpenMarket(market.Key, TermsOf(settings), null), ct);
            var grid = Grid(pricing.Grid);
            var state = pricing.State();
            // Markets opened before terms were recorded trade under this service's configuration, as they always did.
            var terms = pricing.Terms ?? TermsOf(settings);
            foreach (var message in market)
            {
                var t = message.Message;
                using var span = TraceContext.StartFor(message, "quote task");
                object decided;
                var marketKind = terms.TaskKind ?? TaskKinds.Regression;
                var taskKind = t.Kind ?? TaskKinds.Regression;
                if (!string.Equals(marketKind, taskKind, StringComparison.Ordinal))
                {
                    // Labels on a regression market (or a series on a classification one) would be fitted as the wrong thing.
                    decided = new TaskRejected(t.TaskId, t.BuyerId, "kind",
                        $"is '{taskKind}', but market '{t.MarketId}' trades {marketKind} tasks" +
                        (marketKind == TaskKinds.Classification ? " (send kind 'classification' with class labels as the target)" : ""),
                        DateTimeOffset.UtcNow);
                }
                else if (terms.ExactShapley && t.SellerIds.Length > Shapley.MaxExactSellers)
                {
                    decided = new TaskRejected(t.TaskId, t.BuyerId, "marketId",
                        $"market '{t.MarketId}' settles by exact Shapley, which takes at most {Shapley.MaxExactSellers} sellers; this task would use {t.SellerIds.Length}",
                        DateTimeOffset.UtcNow);
                }
                else
                {
                    // The market's own draw, never the buyer's: a seed a buyer could choose or predict would let it search
                    // offline for the cheapest price (the weights are public).
                    var seed = TaskRandomness.Draw();
                    var quote = MultiplicativeWeightsPricer.Quote(state, grid, TaskSeeds.FromTaskSeed(seed).Price);
                    decided = new TaskPriced(t.TaskId, t.MarketId, t.BuyerId, t.Bid, t.Target, t.FromStep, t.SellerIds, seed, t.SubmittedAt,
                        quote.Price, quote.Index, pricing.Grid, pricing.Updates, terms);
                }
                var stream = session.Events.StartStream(t.TaskId.ToString(), decided);
                TraceContext.Stamp(stream.Events, TraceContext.Current(message));
                session.Insert(new PricedTask { Id = t.TaskId.ToString() });
            }
        }
        await session.SaveChangesAsync(ct);
    }

    /// <summary>How opening a market went.</summary>
    public enum OpenOutcome { Opened, AlreadyOpen, Conflict }

    /// <summary>
    /// Opens a market with its terms and uniform weights; opening again with the same terms changes nothing, with other
    /// terms is refused (a market's terms never change once tasks may have traded under them).
    /// </summary>
    public async Task<(OpenOutcome Outcome, MarketPricing Market)> Open(OpenMarket command, CancellationToken ct)
    {
        var outcome = OpenOutcome.Opened;
        await retry.ExecuteAsync(async token =>
        {
            await using var writer = store.LightweightSession();
            var stream = await writer.Events.FetchForWriting<MarketPricing>(command.MarketId, token);
            if (stream.Aggregate is { } existing)
            {
                outcome = Equals(existing.Terms, command.Terms) && existing.Grid == (command.Grid ?? existing.Grid) ? OpenOutcome.AlreadyOpen : OpenOutcome.Conflict;
                return;
            }
            var grid = command.Grid ?? settings.GridTerms;
            stream.AppendOne(new MarketOpened(command.MarketId, grid, Grid(grid).Prices.ToArray(), DateTimeOffset.UtcNow, command.Terms));
            await writer.SaveChangesAsync(token);
            outcome = OpenOutcome.Opened;
        }, ct);
        session.EjectAllPendingChanges();
        var market = await session.LoadAsync<MarketPricing>(command.MarketId, ct) ?? throw new InvalidOperationException($"market '{command.MarketId}' did not open");
        return (outcome, market);
    }

    private async Task<MarketPricing> OpenAsync(OpenMarket command, CancellationToken ct) => (await Open(command, ct)).Market;

    /// <summary>The terms this service would open a market with (its Market:* configuration).</summary>
    public static MechanismTerms TermsOf(MarketSettings settings) => Terms.Record(settings.Parameters);

    public async Task Update(IReadOnlyList<ConsumeContext<PaymentCharged>> payments, CancellationToken ct)
    {
        foreach (var market in payments.GroupBy(p => p.Message.MarketId))
        {
            await retry.ExecuteAsync(async token =>
            {
                session.EjectAllPendingChanges();
                var fresh = await TaskMarkers.FreshAsync<AppliedUpdate>(session, market.Select(p => p.Message.TaskId), token);
                if (fresh.Count == 0) return;
                var stream = await session.Events.FetchForWriting<MarketPricing>(market.Key, token);
                var pricing = stream.Aggregate ?? throw new PermanentFailureException($"market '{market.Key}' has no pricer: a payment arrived for a task it never quoted");
                var grid = Grid(pricing.Grid);
                var state = pricing.State();
                foreach (var message in market.Where(p => fresh.Contains(p.Message.TaskId)).DistinctBy(p => p.Message.TaskId))
                {
                    var p = message.Message;
                    using var span = TraceContext.StartFor(message, "update price");
                    state = MultiplicativeWeightsPricer.Update(state, grid, p.RevenueCurve);
                    var mean = grid.MeanPrice(state);
                    stream.AppendOne(new MarketPriceUpdated(p.TaskId, p.MarketId, state.Weights.ToArray(), state.Updates, mean, p.Charge, p.Price, p.BuyerId));
                    TraceContext.Stamp([stream.Events[^1]], TraceContext.Current(message));
                    session.Insert(new AppliedUpdate { Id = p.TaskId.ToString() });
                    metrics.PriceUpdated(mean);
                }
                await session.SaveChangesAsync(token);
            }, ct);
        }
    }

    public static PriceGrid Grid(PriceGridTerms t) => PriceGrid.Create(Terms.Apply(MarketParameters.Default, t));
}
