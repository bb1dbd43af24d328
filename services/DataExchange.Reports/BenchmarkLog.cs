using DataExchange.Contracts;
using DataExchange.Settlement;
using Marten;
using Npgsql;

namespace DataExchange.Reports;

/// <summary>
/// A synthetic payout log for the rebuild benchmark, in a schema of its own: tasks of <c>sellers</c> SellerPaid events and one
/// TaskSettled each, shaped like the payout service's (one stream per task, string ids), amounts that balance exactly
/// (charge = paid + retained, each payout rounded down to 1e-8), appended with Marten in large batches.
/// </summary>
public static class BenchmarkLog
{
    /// <summary>Whether a schema is named as a benchmark's: starting with "bench", in lower-case letters, digits and '_'.</summary>
    public static bool IsBenchmarkSchema(string schema) =>
        schema.StartsWith("bench", StringComparison.Ordinal) && schema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    /// <summary>
    /// Drops a benchmark's schema with everything in it. Only a schema named as a benchmark's (starting with "bench", in
    /// lower-case letters, digits and '_'), so a mistyped name can never drop a service's.
    /// </summary>
    public static async Task DropSchemaAsync(string postgres, string schema, CancellationToken ct)
    {
        if (!IsBenchmarkSchema(schema))
            throw new ArgumentException($"benchmark schema '{schema}' must start with 'bench' and be lower-case letters, digits and '_'", nameof(schema));
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(ct);
        await using var drop = new NpgsqlCommand($"drop schema if exists \"{schema}\" cascade", connection);
        await drop.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Drops <paramref name="schema"/> (it must start with "bench"), then appends about <paramref name="events"/> events.</summary>
    public static async Task<long> SeedAsync(string postgres, string schema, long events, int sellers, TextWriter progress, CancellationToken ct)
    {
        await DropSchemaAsync(postgres, schema, ct);
        using var store = SettlementStores.Open(postgres, schema, SettlementProjections.Payout, createSchema: true);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var perTask = sellers + 1;
        var tasks = (int)Math.Ceiling(events / (double)perTask);
        const int tasksPerBatch = 500;
        var sellerIds = Enumerable.Range(0, sellers).Select(i => $"seller-{i:00}").ToArray();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var written = 0L;
        var batches = Enumerable.Range(0, (tasks + tasksPerBatch - 1) / tasksPerBatch).ToList();
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct }, async (batch, token) =>
        {
            var random = new Random(batch);
            await using var session = store.LightweightSession();
            for (var n = batch * tasksPerBatch; n < Math.Min(tasks, (batch + 1) * tasksPerBatch); n++)
            {
                var taskId = new Guid((uint)n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                var charge = Math.Round((decimal)random.NextDouble() * 0.05m, 8, MidpointRounding.ToZero);
                var lines = sellerIds.Select(seller =>
                {
                    var share = random.NextDouble() / sellers;
                    return new SellerShare(seller, share, Math.Round(charge * (decimal)share, 8, MidpointRounding.ToZero));
                }).ToArray();
                var paid = lines.Sum(l => l.Amount);
                var list = new List<object>(perTask);
                list.AddRange(lines.Select(l => new SellerPaid(taskId, l.SellerId, l.Share, l.Amount)));
                var at = start.AddMilliseconds(n * 10);
                list.Add(new TaskSettled(taskId, "bench", $"buyer-{n % 120:000}", charge, paid, charge - paid, 0m, 200, at.AddSeconds(-1), at,
                    Payouts: lines));
                session.Events.StartStream(taskId.ToString(), list.ToArray());
            }
            await session.SaveChangesAsync(token);
            var total = Interlocked.Add(ref written, (long)Math.Min(tasksPerBatch, tasks - batch * tasksPerBatch) * perTask);
            if (batch % 20 == 0) progress.WriteLine($"  seeded {total:N0} events");
        });
        // A log is read long after it was written: vacuum and analyse it as autovacuum would have (hint bits, visibility
        // map and statistics), so the rebuild is timed on the log and not on the first read after a bulk load.
        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync(ct);
            foreach (var table in new[] { "mt_events", "mt_streams" })
            {
                await using var vacuum = new NpgsqlCommand($"vacuum (analyze) \"{schema}\".{table}", connection) { CommandTimeout = 600 };
                await vacuum.ExecuteNonQueryAsync(ct);
            }
        }
        return await SettlementStores.LastSequenceAsync(postgres, schema, ct);
    }
}
