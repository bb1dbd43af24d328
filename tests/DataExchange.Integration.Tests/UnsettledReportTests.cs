using System.Text.Json;
using DataExchange.Cli.Reports;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Reports;
using DataExchange.Settlement;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>A market of its own: the test stops its payout service, so no other test's tasks may wait on it.</summary>
public sealed class UnsettledFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class UnsettledCollection : ICollectionFixture<UnsettledFixture>
{
    public const string Name = "unsettled";
}

/// <summary>
/// The settlement report never balances by leaving a charge out: with payout stopped, tasks charged in allocation's log show
/// as charged and unsettled (ids and amounts) and the report balances with them; when payout is back they settle and it
/// balances with none. A settlement without a charge, or with a charge other than the one recorded, makes it say NO.
/// </summary>
[Collection(UnsettledCollection.Name)]
public sealed class UnsettledReportTests(UnsettledFixture market, ITestOutputHelper output)
{
    private Task<string> ReportAsync(string format, CancellationToken ct) =>
        ReportCommand.BuildAsync(market.Postgres, new ReportPeriod(null, null), null, format, TimeSpan.FromSeconds(60), TextWriter.Null, ct);

    // Mutations watched failing (2026-12-02), each reverted:
    // - the report's "charged" read from payout's TaskSettled again (the settled charges only, no unsettled list): failed at
    //   the first report ("unsettledTasks" 0, expected 4; charged short by the four unsettled charges);
    // - the "settled without a charge" check removed: failed at the last report (no discrepancy names the uncharged task);
    // - the comparison of a settled charge with allocation's recorded charge removed: failed at the last report (no
    //   discrepancy names the task whose settlement was altered).
    [Fact]
    public Task Charged_but_unsettled_tasks_are_listed_until_payout_settles_them() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var ct = cts.Token;
        var scenario = SyntheticMarketFor.Small.Value;
        await market.EnsureSellersAsync(scenario.Sellers, ct);
        var marketId = Scenarios.NewMarketId("unsettled");
        async Task<Guid[]> Submit(int from, int count)
        {
            var ids = new List<Guid>();
            foreach (var b in scenario.Buyers.Skip(from).Take(count))
            {
                var task = new SubmitPredictionTask(Guid.NewGuid(), b.Id, b.Valuation, b.Target, 0, null, marketId);
                await market.Client.SubmitAsync(task, ct);
                ids.Add(task.TaskId);
            }
            return ids.ToArray();
        }

        var first = await Submit(0, 4);
        await market.Client.WaitAllAsync(first, TimeSpan.FromMinutes(2), null, ct);
        // The report waits for payout's projections to reach its log's end: they do while payout runs.
        var before = JsonDocument.Parse(await ReportAsync("json", ct)).RootElement.GetProperty("totals");
        Assert.Equal((4, 0, true), (before.GetProperty("tasks").GetInt32(), before.GetProperty("unsettledTasks").GetInt32(), before.GetProperty("balances").GetBoolean()));

        // Payout stops (SIGKILL); four more tasks are priced, allocated and charged, and wait in payout's queue.
        var payout = market.Processes.Single(p => p.Name == "payout");
        await market.StopInstanceAsync(payout);
        var second = await Submit(4, 4);
        var secondKeys = second.Select(i => i.ToString()).ToArray();
        IReadOnlyList<(StoredEvent Event, PaymentCharged Data)> charges = [];
        Assert.True(await MarketFixture.EventuallyAsync(async () =>
            (charges = await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged", secondKeys, ct)).Count == second.Length,
            TimeSpan.FromMinutes(2), ct), $"{charges.Count} of {second.Length} tasks charged with payout stopped");
        Assert.Empty(await market.Events.QueryAsync(EventLog.Payout, "task_settled", secondKeys, ct));
        var allCharges = await market.Events.QueryAsync<PaymentCharged>(EventLog.Allocation, "payment_charged",
            first.Concat(second).Select(i => i.ToString()).ToArray(), ct);
        Assert.Equal(8, allCharges.Count);
        var unsettledCharge = charges.Sum(c => c.Data.Charge);
        Assert.True(unsettledCharge > 0, "the four tasks charged nothing: the report could not tell them apart from settled ones");

        var json = JsonDocument.Parse(await ReportAsync("json", ct)).RootElement;
        var totals = json.GetProperty("totals");
        output.WriteLine(totals.ToString());
        Assert.True(totals.GetProperty("balances").GetBoolean(), totals.ToString());
        Assert.Equal(4, totals.GetProperty("tasks").GetInt32());
        Assert.Equal(4, totals.GetProperty("unsettledTasks").GetInt32());
        Assert.Equal(unsettledCharge, totals.GetProperty("chargedUnsettled").GetDecimal());
        Assert.Equal(allCharges.Sum(c => c.Data.Charge), totals.GetProperty("charged").GetDecimal());
        Assert.Equal(totals.GetProperty("charged").GetDecimal(), totals.GetProperty("paidToSellers").GetDecimal()
            + totals.GetProperty("retained").GetDecimal() + totals.GetProperty("fee").GetDecimal() + totals.GetProperty("chargedUnsettled").GetDecimal());
        var listed = json.GetProperty("unsettled").EnumerateArray()
            .ToDictionary(u => Guid.Parse(u.GetProperty("taskId").GetString()!), u => u.GetProperty("charge").GetDecimal());
        Assert.Equal(charges.ToDictionary(c => c.Data.TaskId, c => c.Data.Charge).OrderBy(kv => kv.Key), listed.OrderBy(kv => kv.Key));
        Assert.Equal(first.Order(), json.GetProperty("tasks").EnumerateArray().Select(t => Guid.Parse(t.GetProperty("taskId").GetString()!)).Order());

        // Every output names the unsettled tasks and their amount.
        var table = await ReportAsync("table", ct);
        output.WriteLine(table);
        Assert.Contains($"Charged, unsettled : {ReportRenderer.Money(unsettledCharge)} (4 tasks)", table);
        Assert.Contains("balances: yes", table);
        var html = await ReportAsync("html", ct);
        Assert.Contains($"id=\"total-unsettled\">{ReportRenderer.Money(unsettledCharge)}<", html);
        var csv = await ReportAsync("csv", ct);
        Assert.Contains($"total_unsettled,,4,{ReportRenderer.Money(unsettledCharge)},", csv);
        foreach (var c in charges)
        {
            Assert.Contains($"{c.Data.TaskId}  {c.Data.BuyerId}", table);
            Assert.Contains($"<tr class=\"unsettled\" data-task=\"{c.Data.TaskId}\">", html);
            Assert.Contains($"unsettled,{c.Data.TaskId},1,{ReportRenderer.Money(c.Data.Charge)},", csv);
        }

        // Payout comes back, takes what waited in its queue, and settles it: nothing unsettled, and it balances.
        await market.StartInstanceAsync("Payout", ct);
        await market.Client.WaitAllAsync(second, TimeSpan.FromMinutes(2), null, ct);
        json = JsonDocument.Parse(await ReportAsync("json", ct)).RootElement;
        totals = json.GetProperty("totals");
        output.WriteLine(totals.ToString());
        Assert.True(totals.GetProperty("balances").GetBoolean(), totals.ToString());
        Assert.Equal(8, totals.GetProperty("tasks").GetInt32());
        Assert.Equal(0, totals.GetProperty("unsettledTasks").GetInt32());
        Assert.Equal(0, json.GetProperty("unsettled").GetArrayLength());
        Assert.Equal(allCharges.Sum(c => c.Data.Charge), totals.GetProperty("charged").GetDecimal());
        Assert.Equal(totals.GetProperty("charged").GetDecimal(),
            totals.GetProperty("paidToSellers").GetDecimal() + totals.GetProperty("retained").GetDecimal() + totals.GetProperty("fee").GetDecimal());

        // Payout's log altered behind the services' back: a settlement of a task nobody charged, and a second settlement of a
        // charged task for one ledger unit more (split exactly, so only the comparison with allocation's charge can see it).
        var ghost = Guid.NewGuid();
        var altered = charges[0].Data;
        var settledAltered = (await market.Events.QueryAsync<TaskSettled>(EventLog.Payout, "task_settled", [altered.TaskId.ToString()], ct))[^1].Data;
        var now = DateTimeOffset.UtcNow;
        using (var store = SettlementStores.Open(market.Postgres, SettlementProjections.PayoutSchema))
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(ghost.ToString(), new TaskSettled(ghost, marketId, "buyer-ghost", 0.5m, 0m, 0.5m, 0m, 0, now, now, null, []));
            session.Events.Append(altered.TaskId.ToString(), settledAltered with
            {
                Charge = settledAltered.Charge + 0.00000001m,
                Retained = settledAltered.Retained + 0.00000001m,
                SettledAt = now,
            });
            await session.SaveChangesAsync(ct);
        }
        json = JsonDocument.Parse(await ReportAsync("json", ct)).RootElement;
        totals = json.GetProperty("totals");
        output.WriteLine(totals.ToString());
        Assert.False(totals.GetProperty("balances").GetBoolean());
        var discrepancies = totals.GetProperty("discrepancies").EnumerateArray().Select(d => d.GetString()!).ToList();
        Assert.Contains(discrepancies, d => d.Contains(ghost.ToString()) && d.Contains("settled without a charge"));
        Assert.Contains(discrepancies, d => d.Contains(altered.TaskId.ToString()) && d.Contains("differs from the charge recorded"));
        Assert.Contains("balances: NO (", await ReportAsync("table", ct));
    });
}
