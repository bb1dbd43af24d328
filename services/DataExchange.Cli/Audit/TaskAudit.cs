using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DataExchange.Contracts;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using DataExchange.Settings;
using Npgsql;

namespace DataExchange.Cli.Audit;

/// <summary>One compared field: what the events record and what the mechanism recomputes from the task's inputs and seeds.</summary>
public sealed record AuditCheck(string Field, string Recorded, string Recomputed, bool Agrees);

/// <summary>The task cannot be audited (unknown, not settled yet, or its inputs are incomplete).</summary>
public sealed class AuditUnavailableException(string message) : Exception(message);

/// <summary>The outcome of <c>dx audit task</c>: every compared field, the ones that disagree, and notes.</summary>
public sealed record TaskAuditResult(Guid TaskId, IReadOnlyList<AuditCheck> Checks, IReadOnlyList<string> Notes)
{
    public IReadOnlyList<AuditCheck> Differences => Checks.Where(c => !c.Agrees).ToList();
    public bool Passed => Checks.All(c => c.Agrees);

    public void Print(TextWriter w, bool differencesOnly = false)
    {
        w.WriteLine($"audit of task {TaskId}");
        foreach (var n in Notes) w.WriteLine($"  {n}");
        var shown = differencesOnly ? Differences : Checks;
        var width = Math.Max(5, shown.Select(c => c.Field.Length).DefaultIfEmpty(0).Max());
        if (shown.Count > 0) w.WriteLine($"  {"",-4}  {"field".PadRight(width)}  recorded | recomputed");
        foreach (var c in shown)
            w.WriteLine(c.Agrees
                ? $"  {"ok",-4}  {c.Field.PadRight(width)}  {c.Recorded}"
                : $"  {"DIFF",-4}  {c.Field.PadRight(width)}  {c.Recorded} | {c.Recomputed}");
        var d = Differences.Count;
        w.WriteLine(d == 0
            ? $"OK: all {Checks.Count} fields agree with the recomputation"
            : $"FAILED: {d} of {Checks.Count} fields differ from the recomputation");
    }
}

/// <summary>
/// Recomputes a settled task from what the event log records as its inputs — the sellers' observations over the task's
/// window (ingestion's seller streams, whatever was appended later), the TaskSubmitted (bid, target), the market's seed and terms (TaskPriced, MarketOpened), the price
/// draw from the market's MWU weights at the TaskPriced's market version, and the MechanismTerms recorded with the
/// allocation and the settlement — and compares every outcome with the recorded events. Doubles are compared
/// bit for bit (the mechanism is deterministic; a zero's sign is not compared, a log written as jsonb numbers lost it), decimals exactly.
/// The recomputation is a chain: the allocation runs at the recomputed price, the settlement splits the recomputed
/// charge, so a tampered field shows up as that field alone.
/// </summary>
public static class TaskAudit
{
    private static JsonSerializerOptions Json => DataExchange.ServiceDefaults.Storage.MarketStore.SqlReaderJson;

    private sealed record Row(string StreamId, long Version, string Type, string Data)
    {
        public T As<T>() => JsonSerializer.Deserialize<T>(Data, Json) ?? throw new AuditUnavailableException($"event {Type} of stream {StreamId} has no data");
    }

    public static async Task<TaskAuditResult> RunAsync(string postgres, Guid taskId, CancellationToken ct = default)
    {
        await using var db = new NpgsqlConnection(postgres);
        await db.OpenAsync(ct);
        var id = taskId.ToString();
        var ingestion = await StreamsAsync(db, "ingestion", [id], ct);
        var pricing = await StreamsAsync(db, "pricing", [id], ct);
        var allocation = await StreamsAsync(db, "allocation", [id], ct);
        var payout = await StreamsAsync(db, "payout", [id], ct);

        if (ingestion.Count == 0) throw new AuditUnavailableException($"task {id} is unknown (no events in ingestion.mt_events)");
        if (ingestion.Any(e => e.Type == "task_rejected")) throw new AuditUnavailableException($"task {id} was rejected: there is nothing to recompute");
        var submitted = One<TaskSubmitted>(ingestion, "task_submitted", "ingestion");
        var priced = One<TaskPriced>(pricing, "task_priced", "pricing");
        var allocated = One<FeaturesAllocated>(allocation, "features_allocated", "allocation");
        var delivered = One<PredictionDelivered>(allocation, "prediction_delivered", "allocation");
        var charged = One<PaymentCharged>(allocation, "payment_charged", "allocation");
        if (!payout.Any(e => e.Type == "task_settled")) throw new AuditUnavailableException($"task {id} is not settled yet (no TaskSettled in payout.mt_events)");
        var settled = One<TaskSettled>(payout, "task_settled", "payout");
        var paid = payout.Where(e => e.Type == "seller_paid").Select(e => e.As<SellerPaid>()).ToList();

        var notes = new List<string>();
        var c = new Checks();

        // What the task was accepted with, as every later stage copied it.
        c.Same("TaskPriced.MarketId", submitted.MarketId, priced.MarketId);
        c.Same("TaskPriced.BuyerId", submitted.BuyerId, priced.BuyerId);
        c.Double("TaskPriced.Bid", priced.Bid, submitted.Bid);
        c.Doubles("TaskPriced.Target", priced.Target, submitted.Target);
        c.Same("TaskPriced.FromStep", submitted.FromStep, priced.FromStep);
        c.Same("TaskPriced.SellerIds", Ids(submitted.SellerIds), Ids(priced.SellerIds));
        c.Same("TaskPriced.SubmittedAt", submitted.SubmittedAt, priced.SubmittedAt);

        // The quote: the MWU weights the market held at the recorded version, and the task's price seed (the market's own
        // draw, recorded in TaskPriced; every later stage must have used the same).
        var seeds = TaskSeeds.FromTaskSeed(priced.Seed);
        var market = await StreamsAsync(db, "pricing", [submitted.MarketId], ct);
        var opened = market.FirstOrDefault(e => e.Type == "market_opened")?.As<MarketOpened>()
            ?? throw new AuditUnavailableException($"market '{submitted.MarketId}' has no MarketOpened in pricing.mt_events");
        c.Same("TaskPriced.Grid", opened.Grid, priced.Grid);
        if (opened.Terms is { } marketTerms)
        {
            // Every service used the terms the market opened with, whatever its own configuration said.
            c.Same("TaskPriced.Terms", marketTerms, priced.Terms);
            c.Same("FeaturesAllocated.Terms", marketTerms, allocated.Terms);
            c.Same("PaymentCharged.Terms", marketTerms, charged.Terms);
            c.Same("TaskSettled.Terms", marketTerms, settled.Terms);
        }
        else notes.Add($"market '{submitted.MarketId}' opened before markets recorded their terms: each stage is recomputed with the terms it recorded");
        var grid = PriceGrid.Create(Terms.Apply(MarketParameters.Default, opened.Grid));
        c.Doubles("MarketOpened.Prices", opened.Prices, grid.Prices.ToArray());
        var state = PricerState.Initial(grid);
        PricerState? atVersion = state.Updates == priced.MarketVersion ? state : null;
        PricerState? beforeOwnUpdate = null;
        MarketPriceUpdated? ownUpdate = null;
        foreach (var e in market.Where(e => e.Type == "market_price_updated"))
        {
            var u = e.As<MarketPriceUpdated>();
            if (u.TaskId == taskId && ownUpdate is null) { ownUpdate = u; beforeOwnUpdate = state; }
            state = new PricerState(ImmutableArray.Create(u.Weights), u.Updates);
            if (u.Updates == priced.MarketVersion) atVersion ??= state;
        }
        PriceQuote quote;
        if (atVersion is null)
        {
            c.Same("TaskPriced.MarketVersion", priced.MarketVersion.ToString(CultureInfo.InvariantCulture), $"(no state of market '{submitted.MarketId}' with {priced.MarketVersion} updates)");
            quote = new PriceQuote(priced.PriceIndex, priced.Price);
            notes.Add("the price draw could not be recomputed: the allocation below runs at the recorded price");
        }
        else
        {
            quote = MultiplicativeWeightsPricer.Quote(atVersion, grid, seeds.Price);
            c.Same("TaskPriced.PriceIndex", priced.PriceIndex, quote.Index);
            c.Double("TaskPriced.Price", priced.Price, quote.Price);
        }

        // The sellers' observations over the task's window, from ingestion's seller streams.
        var features = await FeaturesAsync(db, submitted.SellerIds, submitted.FromStep, submitted.Target.Length, ct);

        // AF*, the model, G, RF* and the revenue curve, with the terms the allocation recorded (and the market's grid).
        var allocationTerms = allocated.Terms;
        if (allocationTerms is null) notes.Add("FeaturesAllocated records no MechanismTerms (an older event): the allocation is recomputed with the default terms");
        var allocationParameters = Terms.Apply(allocationTerms is null ? MarketParameters.Default : Terms.Apply(MarketParameters.Default, allocationTerms), priced.Grid);
        var a = MarketTask.Allocate(features, submitted.Target, submitted.Bid, quote, seeds.Noise, PriceGrid.Create(allocationParameters), allocationParameters);

        c.Same("FeaturesAllocated.SellerIds", Ids(allocated.SellerIds), Ids(submitted.SellerIds));
        c.Same("FeaturesAllocated.FromStep", allocated.FromStep, submitted.FromStep);
        c.Same("FeaturesAllocated.Steps", allocated.Steps, submitted.Target.Length);
        c.Double("FeaturesAllocated.NoiseScale", allocated.NoiseScale, a.NoiseScale);
        c.Same("FeaturesAllocated.NoiseSeed", allocated.NoiseSeed, seeds.Noise);

        c.Same("PredictionDelivered.BuyerId", delivered.BuyerId, submitted.BuyerId);
        c.Double("PredictionDelivered.Gain", delivered.Gain, a.Gain);
        c.Same("PredictionDelivered.PredictionFromStep", delivered.PredictionFromStep, submitted.FromStep + a.PredictionStart);
        c.Doubles("PredictionDelivered.Predictions", delivered.Predictions, a.Predictions);

        c.Decimal("PaymentCharged.Charge", charged.Charge, a.Charge);
        c.Double("PaymentCharged.Price", charged.Price, a.Price);
        c.Double("PaymentCharged.Bid", charged.Bid, submitted.Bid);
        c.Double("PaymentCharged.Gain", charged.Gain, a.Gain);
        c.Doubles("PaymentCharged.RevenueCurve", charged.RevenueCurve, a.RevenueCurve);
        c.Same("PaymentCharged.MarketId", charged.MarketId, submitted.MarketId);
        c.Same("PaymentCharged.BuyerId", charged.BuyerId, submitted.BuyerId);
        c.Doubles("PaymentCharged.Target", charged.Target, submitted.Target);
        c.Same("PaymentCharged.FromStep", charged.FromStep, submitted.FromStep);
        c.Same("PaymentCharged.SellerIds", Ids(charged.SellerIds), Ids(submitted.SellerIds));
        c.Same("PaymentCharged.Seed", charged.Seed, priced.Seed);
        c.Same("PaymentCharged.SubmittedAt", charged.SubmittedAt, submitted.SubmittedAt);

        // PF* for this task: the update it caused, from the weights before it and the recomputed revenue curve.
        if (ownUpdate is null || beforeOwnUpdate is null)
            notes.Add($"market '{submitted.MarketId}' has not applied this task's price update yet: not compared");
        else
        {
            var next = MultiplicativeWeightsPricer.Update(beforeOwnUpdate, grid, a.RevenueCurve);
            c.Same("MarketPriceUpdated.Updates", ownUpdate.Updates, next.Updates);
            c.Doubles("MarketPriceUpdated.Weights", ownUpdate.Weights, next.Weights.ToArray());
            c.Double("MarketPriceUpdated.MeanPrice", ownUpdate.MeanPrice, grid.MeanPrice(next));
            if (ownUpdate.Charge is { } uc) c.Decimal("MarketPriceUpdated.Charge", uc, a.Charge);
            if (ownUpdate.Price is { } up) c.Double("MarketPriceUpdated.Price", up, a.Price);
        }

        // PD_A*, PD_B* and the split of the recomputed charge, with the terms the settlement recorded.
        var settlementTerms = settled.Terms;
        if (settlementTerms is null) notes.Add("TaskSettled records no MechanismTerms (an older event): the settlement is recomputed with the default terms");
        var settlementParameters = settlementTerms is null ? MarketParameters.Default : Terms.Apply(MarketParameters.Default, settlementTerms);
        var s = MarketTask.Settle(features, submitted.Target, submitted.Bid, a.Price, a.Charge, seeds, settlementParameters);

        var recordedBySeller = paid.GroupBy(p => p.SellerId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var x in s.Split.Payouts)
        {
            var field = $"SellerPaid[{x.SellerId}]";
            if (!recordedBySeller.TryGetValue(x.SellerId, out var recorded))
            {
                c.Same(field, "(missing)", $"share {Format(x.Share)}, amount {Format(x.Amount)}");
                continue;
            }
            if (recorded.Count > 1) c.Same($"{field}.Count", recorded.Count, 1);
            c.Double($"{field}.Share", recorded[0].Share, x.Share);
            c.Decimal($"{field}.Amount", recorded[0].Amount, x.Amount);
        }
        foreach (var extra in recordedBySeller.Keys.Except(s.Split.Payouts.Select(p => p.SellerId), StringComparer.Ordinal))
            c.Same($"SellerPaid[{extra}]", $"{recordedBySeller[extra].Count} payout(s)", "(no such seller in the task)");

        // The settlement statement: the same lines, in seller order (what the seller accounts are projected from).
        if (settled.Payouts is not { } statement)
            notes.Add("TaskSettled carries no payout lines (an older event): its statement is not compared");
        else
        {
            c.Same("TaskSettled.Payouts.Count", statement.Length, s.Split.Payouts.Count);
            foreach (var (line, x) in statement.Zip(s.Split.Payouts))
            {
                var field = $"TaskSettled.Payouts[{x.SellerId}]";
                c.Same($"{field}.SellerId", line.SellerId, x.SellerId);
                c.Double($"{field}.Share", line.Share, x.Share);
                c.Decimal($"{field}.Amount", line.Amount, x.Amount);
            }
        }

        c.Decimal("TaskSettled.Charge", settled.Charge, s.Split.Charge);
        c.Decimal("TaskSettled.PaidToSellers", settled.PaidToSellers, s.Split.PaidToSellers);
        c.Decimal("TaskSettled.Retained", settled.Retained, s.Split.Retained);
        c.Decimal("TaskSettled.Fee", settled.Fee, s.Split.Fee);
        c.Same("TaskSettled.ShapleyPermutations", settled.ShapleyPermutations, s.Shapley.Permutations);
        c.Same("TaskSettled.MarketId", settled.MarketId, submitted.MarketId);
        c.Same("TaskSettled.BuyerId", settled.BuyerId, submitted.BuyerId);
        c.Same("TaskSettled.SubmittedAt", settled.SubmittedAt, submitted.SubmittedAt);

        notes.Insert(0, $"market {submitted.MarketId}, buyer {submitted.BuyerId}, bid {Format(submitted.Bid)}, {submitted.SellerIds.Length} sellers, " +
            $"steps [{submitted.FromStep}, {submitted.FromStep + submitted.Target.Length}), seed {priced.Seed} " +
            $"(price {seeds.Price}, noise {seeds.Noise}, permutations {seeds.Permutations}), market version {priced.MarketVersion}");
        notes.Insert(1, $"terms: allocation {TermsText(allocationTerms)}; settlement {TermsText(settlementTerms)}");
        return new TaskAuditResult(taskId, c.List, notes);
    }

    private static string TermsText(MechanismTerms? t) => t is null ? "(not recorded)" :
        $"sigma {Format(t.NoiseSigma)}, train {Format(t.TrainFraction)}, ridge {Format(t.RidgeAlpha)}, gain {t.Gain}, integral points {t.IntegralPoints}, " +
        $"lambda {Format(t.RobustnessLambda)}, payout rule {t.PayoutRule ?? (t.RenormaliseRobustShares ? "renormalised" : "paper")}" +
        $"{(t.SimilarityThreshold is { } tau ? $" (tau {Format(tau)})" : "")}, K {t.ShapleyPermutations}, exact {t.ExactShapley}, " +
        $"eps {(t.ShapleyEpsilon is { } e ? Format(e) : "-")}, delta {(t.ShapleyDelta is { } d ? Format(d) : "-")}, decimals {t.LedgerDecimals}, fee {Format(t.MarketFeeRate)}, " +
        $"allocation {t.Allocation ?? "noise"}, task {t.TaskKind ?? "regression"}, similarity {t.Similarity ?? "cosine"}";

    private static T One<T>(IReadOnlyList<Row> rows, string type, string schema)
    {
        var found = rows.Where(r => r.Type == type).ToList();
        return found.Count switch
        {
            0 => throw new AuditUnavailableException($"no {typeof(T).Name} in {schema}.mt_events for this task (not processed yet?)"),
            1 => found[0].As<T>(),
            _ => throw new AuditUnavailableException($"{found.Count} {typeof(T).Name} events in {schema}.mt_events for one task"),
        };
    }

    private static string Ids(IEnumerable<string> ids) => string.Join(",", ids);

    private static async Task<List<Row>> StreamsAsync(NpgsqlConnection db, string schema, string[] streams, CancellationToken ct)
    {
        await using var command = db.CreateCommand();
        command.CommandText = $"select stream_id, version, type, data::text from {schema}.mt_events where stream_id = any(@streams) order by stream_id, version";
        command.Parameters.AddWithValue("streams", streams);
        var rows = new List<Row>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                rows.Add(new Row(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // That service has never written an event: nothing recorded.
        }
        return rows;
    }

    /// <summary>Each seller's observations over [fromStep, fromStep + steps), rebuilt from its FeatureObservationsAppended events.</summary>
    private static async Task<FeatureSet> FeaturesAsync(NpgsqlConnection db, string[] sellerIds, long fromStep, int steps, CancellationToken ct)
    {
        var rows = await StreamsAsync(db, "ingestion", sellerIds, ct);
        var series = new double[sellerIds.Length][];
        for (var m = 0; m < sellerIds.Length; m++)
        {
            var values = new List<double>();
            foreach (var e in rows.Where(r => r.StreamId == sellerIds[m] && r.Type == "feature_observations_appended"))
            {
                var batch = e.As<FeatureObservationsAppended>();
                if (batch.FromStep != values.Count)
                    throw new AuditUnavailableException($"seller '{sellerIds[m]}': a batch starts at step {batch.FromStep} where the series has {values.Count} observations");
                values.AddRange(batch.Values);
                if (values.Count >= fromStep + steps) break;
            }
            if (values.Count < fromStep + steps)
                throw new AuditUnavailableException($"seller '{sellerIds[m]}' has {values.Count} observations, the task needs steps up to {fromStep + steps}");
            series[m] = values.GetRange((int)fromStep, steps).ToArray();
        }
        return new FeatureSet(sellerIds, series);
    }

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    internal static string Format(decimal v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Doubles are equal when their bits are (zeros of either sign are equal: jsonb stores numbers without a signed zero).</summary>
    internal static bool SameBits(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b) || (a == 0 && b == 0);

    private sealed class Checks
    {
        private const int MaxElementDifferences = 5;
        public List<AuditCheck> List { get; } = [];

        public void Same<T>(string field, T recorded, T recomputed) =>
            List.Add(new AuditCheck(field, Text(recorded), Text(recomputed), EqualityComparer<T>.Default.Equals(recorded, recomputed)));

        public void Double(string field, double recorded, double recomputed) =>
            List.Add(new AuditCheck(field, Format(recorded), Format(recomputed), SameBits(recorded, recomputed)));

        public void Decimal(string field, decimal recorded, decimal recomputed) =>
            List.Add(new AuditCheck(field, Format(recorded), Format(recomputed), recorded == recomputed));

        /// <summary>One line for an array that agrees; the differing elements (the first few, then a count) when it does not.</summary>
        public void Doubles(string field, double[]? recorded, double[] recomputed)
        {
            if (recorded is null || recorded.Length != recomputed.Length)
            {
                List.Add(new AuditCheck($"{field}.Length", recorded is null ? "(missing)" : recorded.Length.ToString(CultureInfo.InvariantCulture),
                    recomputed.Length.ToString(CultureInfo.InvariantCulture), false));
                return;
            }
            var differing = Enumerable.Range(0, recorded.Length).Where(i => !SameBits(recorded[i], recomputed[i])).ToList();
            if (differing.Count == 0)
            {
                List.Add(new AuditCheck(field, $"{recorded.Length} values", $"{recomputed.Length} values", true));
                return;
            }
            foreach (var i in differing.Take(MaxElementDifferences))
                List.Add(new AuditCheck($"{field}[{i}]", Format(recorded[i]), Format(recomputed[i]), false));
            if (differing.Count > MaxElementDifferences)
                List.Add(new AuditCheck($"{field}[...]", $"{differing.Count - MaxElementDifferences} more values differ", "", false));
        }

        private static string Text<T>(T value) => value switch
        {
            null => "(null)",
            DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
