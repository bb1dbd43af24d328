using System.Globalization;
using System.Text;
using DataExchange.ServiceDefaults.Storage;
using Npgsql;

namespace DataExchange.Reports;

/// <summary>
/// Where one settled task's time went, in milliseconds, from the times the services stamped on its events when they
/// saved them (after their work on the task, at or before their commit; in a batch, possibly before the batch's later
/// tasks were worked on): ingestion's TaskSubmitted, pricing's TaskPriced, allocation's
/// PaymentCharged, payout's TaskSettled and pricing's MarketPriceUpdated. Each leg is a commit, a publish, the broker, the
/// next service's receive and that service's work. <see cref="TotalMs"/> is the task's own recorded latency
/// (TaskSettled.SettledAt - SubmittedAt, what the dataexchange.task.latency metric counts).
/// </summary>
public sealed record TaskLegs(Guid TaskId, double PricedMs, double ChargedMs, double SettledMs, double? PriceUpdatedMs, double TotalMs);

/// <summary>One leg over many tasks.</summary>
public sealed record LatencyLeg(string Name, int Tasks, double P50, double P99, double Max);

/// <summary>
/// <c>dx report latency</c>: the legs of the last settled tasks from the four services' event logs (read only). The
/// legs are differences of times stamped by different services, so they assume the services' clocks agree (one host, or
/// synchronised hosts).
/// </summary>
public static class LatencyReport
{
    /// <summary>The legs of the last <paramref name="last"/> tasks settled (of one market, or of all), oldest first.</summary>
    public static async Task<IReadOnlyList<TaskLegs>> ReadAsync(string postgres, string? market, int last, CancellationToken ct)
    {
        if (last < 1) throw new ArgumentOutOfRangeException(nameof(last), last, "at least one task");
        // TaskPriced starts the task's stream in pricing; MarketPriceUpdated is in the market's stream, found by the task id in
        // its data among pricing's events after the first of these tasks was priced (a range of the sequence, not the whole log).
        var sql = $"""
            with settled as (
              select stream_id as task, seq_id, timestamp as t_settled,
                     (data->>'SubmittedAt')::timestamptz as submitted_at, (data->>'SettledAt')::timestamptz as settled_at
              from "{ServiceSchemas.Payout}".mt_events
              where type = 'task_settled' and (@market::text is null or data->>'MarketId' = @market::text)
              order by seq_id desc limit @last),
            legs as (
              select s.task, s.seq_id, i.timestamp as t_submitted, p.seq_id as priced_seq, p.timestamp as t_priced, a.timestamp as t_charged,
                     s.t_settled, s.submitted_at, s.settled_at
              from settled s
              join "{ServiceSchemas.Ingestion}".mt_events i on i.stream_id = s.task and i.type = 'task_submitted'
              join "{ServiceSchemas.Pricing}".mt_events p on p.stream_id = s.task and p.type = 'task_priced'
              join "{ServiceSchemas.Allocation}".mt_events a on a.stream_id = s.task and a.type = 'payment_charged'),
            updates as (
              select data->>'TaskId' as task, min(timestamp) as t_updated
              from "{ServiceSchemas.Pricing}".mt_events
              where type = 'market_price_updated' and seq_id > (select min(priced_seq) from legs)
              group by 1)
            select l.task, l.t_submitted, l.t_priced, l.t_charged, l.t_settled, u.t_updated, l.submitted_at, l.settled_at
            from legs l left join updates u using (task)
            order by l.seq_id
            """;
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("market", (object?)market ?? DBNull.Value);
        command.Parameters.AddWithValue("last", last);
        var legs = new List<TaskLegs>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            DateTimeOffset At(int i) => reader.GetFieldValue<DateTimeOffset>(i);
            static double Ms(DateTimeOffset from, DateTimeOffset to) => (to - from).TotalMilliseconds;
            var (submitted, priced, charged, settled) = (At(1), At(2), At(3), At(4));
            double? updated = reader.IsDBNull(5) ? null : Ms(charged, At(5));
            legs.Add(new TaskLegs(Guid.Parse(reader.GetString(0)), Ms(submitted, priced), Ms(priced, charged), Ms(charged, settled), updated,
                Ms(At(6), At(7))));
        }
        return legs;
    }

    /// <summary>
    /// p50, p99 and the largest of each leg (nearest rank), in the order a task passes through the services; the price
    /// update counts only the tasks whose update has landed (its own count).
    /// </summary>
    public static IReadOnlyList<LatencyLeg> Summarise(IReadOnlyList<TaskLegs> tasks)
    {
        static LatencyLeg Leg(string name, IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0
                ? new LatencyLeg(name, 0, double.NaN, double.NaN, double.NaN)
                : new LatencyLeg(name, sorted.Length, NearestRank(sorted, 0.50), NearestRank(sorted, 0.99), sorted[^1]);
        }
        return
        [
            Leg("submitted -> priced (ingestion's commit, pricing's quote)", tasks.Select(t => t.PricedMs)),
            Leg("priced -> charged (pricing's commit, allocation)", tasks.Select(t => t.ChargedMs)),
            Leg("charged -> settled (allocation's commit, payout)", tasks.Select(t => t.SettledMs)),
            Leg("charged -> price updated (beside payout: pricing's PF*)", tasks.Where(t => t.PriceUpdatedMs is not null).Select(t => t.PriceUpdatedMs!.Value)),
            Leg("submitted -> settled (the task's recorded latency)", tasks.Select(t => t.TotalMs)),
        ];
    }

    /// <summary>The q-quantile of sorted values by nearest rank (a value that occurred, never an interpolation); NaN when empty.</summary>
    public static double NearestRank(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static string Render(IReadOnlyList<TaskLegs> tasks, string? market)
    {
        var of = market is null ? "" : $" of market {market}";
        if (tasks.Count == 0) return $"No settled task{of} in the services' event logs.\n";
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Latency of the last {tasks.Count} settled tasks{of}, from the services' event logs (ms):\n");
        text.Append(CultureInfo.InvariantCulture, $"{"leg",-60} {"tasks",6} {"p50",9} {"p99",9} {"max",9}\n");
        static string Shown(double v) => double.IsNaN(v) ? "-" : v.ToString("F1", CultureInfo.InvariantCulture);
        foreach (var leg in Summarise(tasks))
            text.Append(CultureInfo.InvariantCulture, $"{leg.Name,-60} {leg.Tasks,6} {Shown(leg.P50),9} {Shown(leg.P99),9} {Shown(leg.Max),9}\n");
        return text.ToString();
    }
}
