using System.Net.Http.Json;
using System.Text.RegularExpressions;
using DataExchange.Cli;
using DataExchange.Cli.Audit;
using DataExchange.Contracts;
using DataExchange.Integration.Tests.Infrastructure;
using DataExchange.Mechanism;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DataExchange.Integration.Tests;

/// <summary>
/// A market of its own for <c>dx audit task</c> and <c>dx watch payouts</c> (its sellers get more observations
/// appended, which no other test should see): 5 sellers x 200 steps and 6 tasks settled through the services once.
/// </summary>
public sealed class AuditFixture : MarketFixture
{
    public const ulong Seed = 11;
    public static readonly MarketScenario Scenario = SyntheticMarket.Generate(5, 200, 12, Seed);
    public readonly string MarketId = Scenarios.NewMarketId("audit");
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Guid[]? _tasks;

    /// <summary>Tasks 0..5 of the scenario, submitted at once, settled, and their price updates applied.</summary>
    public async Task<Guid[]> SettledTasksAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            if (_tasks is not null) return _tasks;
            await EnsureSellersAsync(Scenario.Sellers, ct);
            var ids = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
            for (var n = 0; n < ids.Length; n++)
            {
                var b = Scenario.Buyers[n];
                await Client.SubmitAsync(new SubmitPredictionTask(ids[n], b.Id, b.Valuation, b.Target, 0, null, MarketId), ct);
            }
            await Client.WaitAllAsync(ids, TimeSpan.FromMinutes(2), null, ct);
            Assert.All(ids, id => Assert.Null(Client.Report(id).Rejected));
            await Scenarios.WaitForPriceUpdatesAsync(this, MarketId, ids.Length, TimeSpan.FromSeconds(60), ct);
            return _tasks = ids;
        }
        finally
        {
            _lock.Release();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AuditCollection : ICollectionFixture<AuditFixture>
{
    public const string Name = "audit";
}

/// <summary>
/// <c>dx audit task</c> recomputes settled tasks exactly from their recorded inputs (also after a seller appended more
/// observations) and names a tampered field; <c>dx watch payouts</c> prints exactly one seller's payouts as they arrive.
/// </summary>
[Collection(AuditCollection.Name)]
public sealed class AuditAndWatchTests(AuditFixture market, ITestOutputHelper output)
{
    [Fact]
    public Task Audit_EverySettledTask_AgreesBitwise() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ids = await market.SettledTasksAsync(cts.Token);
        foreach (var id in ids[..4])
        {
            var result = await TaskAudit.RunAsync(market.Postgres, id, cts.Token);
            Assert.True(result.Passed, $"task {id}: " + string.Join("; ", result.Differences.Select(d => $"{d.Field}: {d.Recorded} vs {d.Recomputed}")));
            // Every part of the task was compared: the draw, the allocation, the update it caused, and each seller's payout.
            var fields = result.Checks.Select(c => c.Field).ToHashSet();
            foreach (var f in new[] { "TaskPriced.Price", "FeaturesAllocated.NoiseScale", "PredictionDelivered.Predictions", "PaymentCharged.Charge",
                         "PaymentCharged.RevenueCurve", "MarketPriceUpdated.Weights", "TaskSettled.Retained", "TaskSettled.Fee" })
                Assert.Contains(f, fields);
            foreach (var s in AuditFixture.Scenario.Sellers.SellerIds)
            {
                Assert.Contains($"SellerPaid[{s}].Share", fields);
                Assert.Contains($"SellerPaid[{s}].Amount", fields);
                Assert.Contains($"TaskSettled.Payouts[{s}].Amount", fields);
            }
        }
        var (code, stdout, stderr) = Dx("audit", "task", ids[0].ToString(), "--postgres", market.Postgres);
        output.WriteLine(stdout);
        Assert.True(code == 0, $"dx audit exited {code}: {stderr}\n{stdout}");
        Assert.Contains("OK: all", stdout);
        Assert.Equal(AuditCommand.Unavailable, Dx("audit", "task", Guid.NewGuid().ToString(), "--postgres", market.Postgres).Code);
    });

    [Fact]
    public Task Audit_AfterTheSellerAppendedMore_UsesTheTasksWindow() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var ids = await market.SettledTasksAsync(ct);
        var seller = AuditFixture.Scenario.Sellers.SellerIds[0];
        var before = await ObservationsAsync(seller, ct);
        var extra = Enumerable.Range(0, 50).Select(i => 100.0 + i).ToArray();
        using var http = market.ParticipantHttp();
        var response = await http.PostAsJsonAsync($"/sellers/{seller}/observations", new { fromStep = before, values = extra }, ct);
        Assert.True(response.IsSuccessStatusCode, $"append: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        Assert.Equal(before + extra.Length, await ObservationsAsync(seller, ct));

        foreach (var id in ids[..2])
        {
            var result = await TaskAudit.RunAsync(market.Postgres, id, ct);
            Assert.True(result.Passed, $"task {id}: " + string.Join("; ", result.Differences.Select(d => $"{d.Field}: {d.Recorded} vs {d.Recomputed}")));
        }
    });

    // Mutations watched failing (the audit reading through Marten, one recompute per stage): AuditChecks.Decimal taking
    // every decimal as agreeing (the SellerPaid amount tamper went unnoticed: Assert.False(result.Passed) failed), and
    // PricingAudit not comparing TaskPriced.PriceIndex (the first three tampers passed, the price index one failed).
    [Fact]
    public Task Audit_OfATamperedEvent_FailsNamingTheField() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var ids = await market.SettledTasksAsync(ct);
        var seller = AuditFixture.Scenario.Sellers.SellerIds[1];

        // One seller's payout raised by one ledger unit.
        await Tampered(EventLog.Payout, ids[4], "seller_paid", $"data->>'SellerId' = '{seller}'",
            "jsonb_set(data, '{Amount}', to_jsonb((data->>'Amount')::numeric + 0.00000001))", $"SellerPaid[{seller}].Amount", ct);
        // The same seller's line of the settlement statement (what its account is projected from) raised by one unit.
        await Tampered(EventLog.Payout, ids[3], "task_settled", "true",
            "jsonb_set(data, '{Payouts,1,Amount}', to_jsonb((data#>>'{Payouts,1,Amount}')::numeric + 0.00000001))", $"TaskSettled.Payouts[{seller}].Amount", ct);
        // The buyer's charge raised by one ledger unit (the recomputed split matches the settlement, so only the charge differs).
        await Tampered(EventLog.Allocation, ids[5], "payment_charged", "true",
            "jsonb_set(data, '{Charge}', to_jsonb((data->>'Charge')::numeric + 0.00000001))", "PaymentCharged.Charge", ct);
        // The price index the market drew, one grid step off (the allocation is recomputed at the recomputed draw, so
        // only the draw differs): the pricing stage is compared too.
        await Tampered(EventLog.Pricing, ids[2], "task_priced", "true",
            "jsonb_set(data, '{PriceIndex}', to_jsonb((data->>'PriceIndex')::int + 1))", "TaskPriced.PriceIndex", ct,
            "jsonb_set(data, '{PriceIndex}', to_jsonb((data->>'PriceIndex')::int - 1))");
    });

    /// <summary>Applies <paramref name="update"/> to one event, audits (in process and through dx), and restores the event.</summary>
    private async Task Tampered(string schema, Guid task, string type, string where, string update, string field, CancellationToken ct,
        string? inverseUpdate = null)
    {
        Assert.True((await TaskAudit.RunAsync(market.Postgres, task, ct)).Passed, $"task {task} does not audit clean before tampering");
        await using var db = new NpgsqlConnection(market.Postgres);
        await db.OpenAsync(ct);
        var changed = await Execute(db, $"update {schema}.mt_events set data = {update} where stream_id = @id and type = '{type}' and {where}", task, ct);
        Assert.Equal(1, changed);
        try
        {
            var result = await TaskAudit.RunAsync(market.Postgres, task, ct);
            Assert.False(result.Passed);
            var difference = Assert.Single(result.Differences);
            Assert.Equal(field, difference.Field);
            Assert.NotEqual(difference.Recorded, difference.Recomputed);

            var (code, stdout, _) = Dx("audit", "task", task.ToString(), "--postgres", market.Postgres);
            output.WriteLine(stdout);
            Assert.Equal(AuditCommand.Differs, code);
            Assert.Matches(new Regex($@"DIFF\s+{Regex.Escape(field)}\s+{Regex.Escape(difference.Recorded)} \| {Regex.Escape(difference.Recomputed)}"), stdout);
        }
        finally
        {
            var inverse = inverseUpdate ?? update.Replace("+ 0.00000001", "- 0.00000001", StringComparison.Ordinal);
            Assert.Equal(1, await Execute(db, $"update {schema}.mt_events set data = {inverse} where stream_id = @id and type = '{type}' and {where}", task, ct));
        }
        Assert.True((await TaskAudit.RunAsync(market.Postgres, task, ct)).Passed, $"task {task} does not audit clean after restoring");
    }

    [Fact]
    public Task WatchPayouts_PrintsExactlyOneSellersPayouts_AsTheyArrive() => market.Run(async () =>
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        await market.SettledTasksAsync(ct);
        var seller = AuditFixture.Scenario.Sellers.SellerIds[2];
        const int tasks = 3;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var outSync = TextWriter.Synchronized(stdout);
        var errSync = TextWriter.Synchronized(stderr);
        var watch = Task.Run(() => Cli.Dx.Run(["watch", "payouts", "--seller", seller, "--count", tasks.ToString(), "--rabbitmq", market.RabbitMq],
            outSync, errSync), ct);
        Assert.True(await MarketFixture.EventuallyAsync(() => Task.FromResult(Text(errSync, stderr).Contains("watching payouts") || watch.IsCompleted),
            TimeSpan.FromSeconds(30), ct), "dx watch payouts did not start");
        Assert.False(watch.IsCompleted, $"dx watch payouts ended early ({(watch.IsCompletedSuccessfully ? watch.Result : -1)}): {Text(errSync, stderr)}");

        var ids = Enumerable.Range(0, tasks).Select(_ => Guid.NewGuid()).ToArray();
        for (var n = 0; n < tasks; n++)
        {
            var b = AuditFixture.Scenario.Buyers[6 + n];
            await market.Client.SubmitAsync(new SubmitPredictionTask(ids[n], b.Id, b.Valuation, b.Target, 0, null,
                market.MarketId), ct);
        }
        await market.Client.WaitAllAsync(ids, TimeSpan.FromMinutes(2), null, ct);
        Assert.True(await Task.WhenAny(watch, Task.Delay(TimeSpan.FromSeconds(30), ct)) == watch,
            $"dx watch payouts printed {Text(outSync, stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} of {tasks} lines in time");
        Assert.Equal(0, await watch);

        var lines = Text(outSync, stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        output.WriteLine(string.Join("\n", lines));
        var paid = (await market.Events.QueryAsync<SellerPaid>(EventLog.Payout, "seller_paid", ids.Select(i => i.ToString()), ct))
            .Select(p => p.Data).Where(p => p.SellerId == seller).ToList();
        Assert.Equal(tasks, paid.Count);
        // Each line: "<UTC time>  task <id>  seller <id>  share <R>  amount <decimal>", one per task, nothing else.
        var expected = paid.Select(p => FormattableString.Invariant($"task {p.TaskId}  seller {p.SellerId}  share {p.Share:R}  amount {p.Amount}")).Order().ToList();
        var printed = lines.Select(l => Regex.Match(l, @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  (.*)$")).Select(m => m.Success ? m.Groups[1].Value : "bad line").Order().ToList();
        Assert.Equal(expected, printed);
    });

    private static string Text(TextWriter sync, StringWriter inner)
    {
        lock (sync) return inner.ToString();
    }

    private static (int Code, string Stdout, string Stderr) Dx(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private async Task<long> ObservationsAsync(string seller, CancellationToken ct) =>
        (await market.Events.QueryAsync<FeatureObservationsAppended>(EventLog.Ingestion, "feature_observations_appended", [seller], ct))
        .Sum(e => (long)e.Data.Values.Length);

    private static async Task<int> Execute(NpgsqlConnection db, string sql, Guid task, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, db);
        command.Parameters.AddWithValue("id", task.ToString());
        return await command.ExecuteNonQueryAsync(ct);
    }
}
