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
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) throw new UsageException("projections: expected 'rebuild' or 'benchmark' (see dx help)");
        var a = new Arguments(args[1..], new HashSet<string>(["--keep", "--reuse"], StringComparer.Ordinal));
        return args[0] switch
        {
            "rebuild" => Rebuild(a, stdout),
            "benchmark" => Benchmark(a, stdout),
            _ => throw new UsageException($"projections: '{args[0]}' is not 'rebuild' or 'benchmark'"),
        };
    }

    private static int Rebuild(Arguments a, TextWriter stdout)
    {
        var postgres = PostgresOption.From(a);
        var only = a.String("--schema");
        var timeout = a.Int("--timeout", 600, 1);
        a.RejectUnknown();
        if (only is not null && !SettlementProjections.Schemas.Contains(only))
            throw new UsageException($"--schema: '{only}' holds no settlement projections (payout, allocation or pricing)");
        var schemas = only is null ? SettlementProjections.Schemas : [only];
        RebuildAsync(postgres, schemas, stdout, TimeSpan.FromSeconds(timeout), CancellationToken.None).GetAwaiter().GetResult();
        return 0;
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

    private static int Benchmark(Arguments a, TextWriter stdout)
    {
        var postgres = PostgresOption.From(a);
        var events = a.Int("--events", 1_000_000, 1);
        var sellers = a.Int("--sellers", 20, 1, 1000);
        var schema = a.String("--schema") ?? "bench_payout";
        var keep = a.Flag("--keep");
        var reuse = a.Flag("--reuse");
        var timeout = a.Int("--timeout", 1800, 1);
        a.RejectUnknown();
        BenchmarkAsync(postgres, schema, events, sellers, keep, reuse, stdout, TimeSpan.FromSeconds(timeout), CancellationToken.None).GetAwaiter().GetResult();
        return 0;
    }

    private static async Task BenchmarkAsync(string postgres, string schema, int events, int sellers, bool keep, bool reuse, TextWriter stdout, TimeSpan timeout,
        CancellationToken ct)
    {
        var last = reuse ? await SettlementStores.LastSequenceAsync(postgres, schema, ct) : 0;
        if (!reuse) stdout.WriteLine($"seeding about {events:N0} events ({sellers} SellerPaid + 1 TaskSettled per task) into schema {schema}...");
        var seedClock = Stopwatch.StartNew();
        Benchmarking(schema);
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
        if (!keep)
        {
            await using var connection = new Npgsql.NpgsqlConnection(postgres);
            await connection.OpenAsync(ct);
            await using var drop = new Npgsql.NpgsqlCommand($"drop schema if exists \"{schema}\" cascade", connection);
            await drop.ExecuteNonQueryAsync(ct);
        }
    }

    private static void Benchmarking(string schema)
    {
        if (SettlementProjections.Schemas.Contains(schema)) throw new UsageException($"--schema: '{schema}' is a service's schema; the benchmark drops its schema");
    }
}
