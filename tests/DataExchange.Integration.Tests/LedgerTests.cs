using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// 120 tasks (20 sellers x 400 steps) submitted all at once through the running services: every task is settled exactly
/// once, every seller paid once per task, the ledger balances per task and in total, and each price update is applied once.
/// </summary>
[Collection(MarketCollection.Name)]
public sealed class LedgerTests(MarketFixture market, ITestOutputHelper output)
{
    [Fact]
    public Task ConcurrentTasks_SettleOnce_AndTheLedgerBalances() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var scenario = Scenarios.Standard.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("ledger");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ids = await Scenarios.SubmitAllAsync(market, scenario, scenario.Buyers.Count, marketId, ct);
        await market.Client.WaitAllAsync(ids, TimeSpan.FromMinutes(3), null, ct);
        output.WriteLine($"{ids.Length} tasks settled in {clock.Elapsed.TotalSeconds:0.0} s");
        var keys = ids.Select(i => i.ToString()).ToHashSet();

        var rejected = ids.Select(market.Client.Report).Where(r => r.Rejected is not null).ToList();
        Assert.True(rejected.Count == 0, "valid tasks were rejected: " + string.Join("; ", rejected.Select(r => $"{r.TaskId}: {r.Rejected!.Field} {r.Rejected.Reason}")));

        var updates = await Scenarios.WaitForPriceUpdatesAsync(market, marketId, ids.Length, TimeSpan.FromSeconds(60), ct);

        // What each task was accepted with (the sellers it uses), what it was charged, and how it was settled and paid.
        var submitted = (await market.Events.QueryAsync<TaskSubmitted>(EventLog.Ingestion, "task_submitted", keys, ct)).ToDictionary(e => e.Data.TaskId);
        var charged = await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", keys, ct);
        var settled = await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", keys, ct);
        var paid = await market.Events.QueryAsync<SellerPaid>(EventLog.Payout, "seller_paid", keys, ct);
        Assert.Equal(ids.Length, submitted.Count);

        var settledCounts = keys.ToDictionary(k => k, k => settled.Count(s => s.Event.StreamId == k));
        var notOnce = settledCounts.Where(kv => kv.Value != 1).ToList();
        Assert.True(notOnce.Count == 0, "tasks not settled exactly once: " + string.Join(", ", notOnce.Select(kv => $"{kv.Key} x{kv.Value}")));
        var chargedCounts = keys.ToDictionary(k => k, k => charged.Count(c => c.Event.StreamId == k));
        Assert.True(chargedCounts.Values.All(c => c == 1), "tasks not charged exactly once: " +
            string.Join(", ", chargedCounts.Where(kv => kv.Value != 1).Select(kv => $"{kv.Key} x{kv.Value}")));

        var perSeller = paid.GroupBy(p => (p.Data.TaskId, p.Data.SellerId)).Where(g => g.Count() != 1).ToList();
        Assert.True(perSeller.Count == 0, "sellers paid more than once for a task: " + string.Join(", ", perSeller.Select(g => $"{g.Key} x{g.Count()}")));

        decimal totalCharged = 0, totalPaid = 0, totalRetained = 0, totalFee = 0;
        foreach (var id in ids)
        {
            var s = settled.Single(x => x.Data.TaskId == id).Data;
            var c = charged.Single(x => x.Data.TaskId == id).Data;
            var payouts = paid.Where(p => p.Data.TaskId == id).Select(p => p.Data).ToList();
            var sellers = submitted[id].Data.SellerIds;
            Assert.Equal(sellers.Length, scenario.Sellers.Sellers);
            Assert.Equal(sellers.Order(StringComparer.Ordinal), payouts.Select(p => p.SellerId).Order(StringComparer.Ordinal));
            Assert.True(payouts.All(p => p.Amount >= 0), $"task {id}: a negative payout");
            Assert.True(s.Retained >= 0 && s.Fee >= 0, $"task {id}: retained {s.Retained}, fee {s.Fee}");
            // Allocation's charge (its log) against payout's (its log). Mutation watched failing here: payout settling
            // p.Charge + 0.00000001m instead of the recorded charge (Expected 0.00555908, Actual 0.00555909).
            Assert.Equal(c.Charge, s.Charge);
            var sum = payouts.Sum(p => p.Amount);
            Assert.Equal(sum, s.PaidToSellers);
            Assert.True(sum + s.Retained + s.Fee == s.Charge,
                $"task {id}: paid {sum} + retained {s.Retained} + fee {s.Fee} = {sum + s.Retained + s.Fee}, charged {s.Charge}");
            totalCharged += s.Charge;
            totalPaid += sum;
            totalRetained += s.Retained;
            totalFee += s.Fee;
        }
        Assert.Equal(totalCharged, totalPaid + totalRetained + totalFee);
        Assert.True(totalCharged > 0, "nothing was charged: the market traded nothing");

        // The ledger across services, each side counted from its own log: what allocation charged the buyers (its
        // PaymentCharged events) equals what payout paid the sellers (its SellerPaid events) plus what payout retained
        // and took as fee (its TaskSettled events). A payout that split anything but the charge allocation recorded (a
        // recomputed, rounded or doubled charge) breaks this; the per-task checks above compare TaskSettled with itself.
        var chargedByAllocation = charged.Sum(c => c.Data.Charge);
        var paidByPayout = paid.Sum(p => p.Data.Amount);
        var keptByPayout = settled.Sum(x => x.Data.Retained + x.Data.Fee);
        Assert.True(chargedByAllocation == paidByPayout + keptByPayout,
            $"allocation charged {chargedByAllocation}; payout paid {paidByPayout} and kept {keptByPayout} (sum {paidByPayout + keptByPayout})");
        output.WriteLine($"charged {totalCharged}, paid {totalPaid}, retained {totalRetained}, fee {totalFee}");

        // PF*: one update per task, each task's once, and only this market's tasks.
        Assert.Equal(ids.Length, updates.Count);
        Assert.Equal(keys.Order(), updates.Select(u => u.Data.TaskId.ToString()).Distinct().Order());
        var quotes = await market.Events.QueryAsync<TaskPriced>(EventLog.Pricing, "task_priced", ids.Select(i => i.ToString()), ct);
        Assert.Equal(ids.Length, quotes.Count);
        Assert.Equal(ids.Length, quotes.Select(q => q.Data.TaskId).Distinct().Count());

        await Scenarios.AssertNoFaultsAsync(market, ct);
    });
}
