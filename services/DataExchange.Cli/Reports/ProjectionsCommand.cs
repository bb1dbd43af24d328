using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DataExchange.Reports;
using DataExchange.Settlement;

namespace DataExchange.Cli.Reports;

/// <summary>
/// <c>dx projections rebuild</c>: drops every settlement projection and rebuilds it from the events, with progress.
/// <c>dx projections benchmark</c>: makes a synthetic payout log in a schema of its own and times the rebuild over it.
/// </summary>
public static class ProjectionsCommand
{
    public static Command Create()
    {
        var postgres = ServerOptions.Postgres();
        var only = Opt.Text("--schema", "payout|allocation|pricing", "only this schema's projections (default: all three)");
        var timeout = Opt.Int("--timeout", 600, 1, int.MaxValue, "give up after S seconds");
        var rebuild = new Command("rebuild", "drop every settlement projection and rebuild it from the events").With(postgres, only, timeout);
        rebuild.SetAction(r =>
        {
            var schema = r.GetValue(only);
            if (schema is not null && !SettlementProjections.Schemas.Contains(schema))
                throw new UsageException($"--schema: '{schema}' holds no settlement projections (payout, allocation or pricing)");
            RebuildAsync(r.PostgresOf(postgres), schema is null ? SettlementProjections.Schemas : [schema], r.Out(), TimeSpan.FromSeconds(r.GetValue(timeout)),
                CancellationToken.None).GetAwaiter().GetResult();
            return 0;
        });
        var benchPostgres = ServerOptions.Postgres();
        var events = Opt.Int("--events", 1_000_000, 1, int.MaxValue, "events in the synthetic payout log");
        var sellers = Opt.Int("--sellers", 20, 1, 1000, "sellers per task");
        var benchSchema = Opt.Text("--schema", "S", "the schema it drops and fills (default bench_payout)");
        var keep = Opt.Flag("--keep", "leave the schema in place afterwards");
        var reuse = Opt.Flag("--reuse", "rebuild over the log a --keep run left, without seeding");
        var benchTimeout = Opt.Int("--timeout", 1800, 1, int.MaxValue, "give up after S seconds");
        var benchmark = new Command("benchmark", "time a rebuild over a synthetic payout log in its own schema")
            .With(benchPostgres, events, sellers, benchSchema, keep, reuse, benchTimeout);
        benchmark.SetAction(r =>
        {
            var schema = r.GetValue(benchSchema) ?? "bench_payout";
            if (SettlementProjections.Schemas.Contains(schema)) throw new UsageException($"--schema: '{schema}' is a service's schema; the benchmark drops its schema");
            if (!BenchmarkLog.IsBenchmarkSchema(schema))
                throw new UsageException($"--schema: '{schema}' must start with 'bench' and be lower-case letters, digits and '_' (the benchmark drops its schema)");
            BenchmarkAsync(r.PostgresOf(benchPostgres), schema, r.GetValue(events), r.GetValue(sellers), r.GetValue(keep), r.GetValue(reuse), r.Out(),
                TimeSpan.FromSeconds(r.GetValue(benchTimeout)), CancellationToken.None).GetAwaiter().GetResult();
            return 0;
        });
        return new Command("projections", "the settlement projections: rebuild them, or time a rebuild").With(rebuild, benchmark);
    }

    /// <summary>Rebuilds every projection of the given schemas (also what the tests call).</summary>
    public static async Task<IReadOnlyList<RebuildResult>> RebuildAsync(string postgres, IReadOnlyList<string> schemas, TextWriter stdout, TimeSpan timeout,
        CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var results = new List<RebuildResult>();
        foreach (var schema in schemas)
        {
            using var store = SettlementStores.Open(postgres, schema);
            results.AddRange(await ProjectionRebuilder.RebuildAllAsync(store, schema, postgres, stdout, timeout, ct));
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rebuilt {results.Count} projections in {clock.Elapsed.TotalSeconds:0.00} s"));
        return results;
    }

    private static async Task BenchmarkAsync(string postgres, string schema, int events, int sellers, bool keep, bool reuse, TextWriter stdout, TimeSpan timeout,
        CancellationToken ct)
    {
        var last = reuse ? await SettlementStores.LastSequenceAsync(postgres, schema, ct) : 0;
        if (!reuse) stdout.WriteLine($"seeding about {events:N0} events ({sellers} SellerPaid + 1 TaskSettled per task) into schema {schema}...");
        var seedClock = Stopwatch.StartNew();
        if (!reuse) last = await BenchmarkLog.SeedAsync(postgres, schema, events, sellers, stdout, ct);
        if (!reuse) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {last:N0} events in {seedClock.Elapsed.TotalSeconds:0.0} s"));
        using var store = SettlementStores.Open(postgres, schema, SettlementProjections.Payout);
        var clock = Stopwatch.StartNew();
        var results = await ProjectionRebuilder.RebuildAllAsync(store, schema, postgres, stdout, timeout, ct);
        clock.Stop();
        await using (var session = store.QuerySession())
        {
            var accounts = await Marten.QueryableExtensions.CountAsync(session.Query<SellerAccount>(), ct);
            var settled = await Marten.QueryableExtensions.CountAsync(session.Query<TaskSettlement>(), ct);
            stdout.WriteLine($"projected {accounts} seller accounts and {settled:N0} task settlements");
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"benchmark: rebuilt {results.Count} projections ({string.Join(", ", results.Select(r => r.Projection))}) over {last:N0} events in {clock.Elapsed.TotalSeconds:0.00} s = {last / clock.Elapsed.TotalSeconds:N0} events/s"));
        if (!keep) await BenchmarkLog.DropSchemaAsync(postgres, schema, ct);
    }
}
