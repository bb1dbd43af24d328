using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DataExchange.Cli.Market;
using DataExchange.Client;
using DataExchange.Mechanism;
using DataExchange.Participants;
using Npgsql;
using Xunit;
using Xunit.Sdk;

namespace DataExchange.Integration.Tests.Infrastructure;

/// <summary>
/// A whole market for the tests: a fresh PostgreSQL database <c>dx_it_&lt;random&gt;</c> and RabbitMQ vhost
/// <c>dx-it-&lt;random&gt;</c> (so runs never see each other's queues or data), the four services started from their
/// Release DLLs as separate processes against them, and a connected <see cref="MarketClient"/>. Everything is removed at
/// dispose. PostgreSQL and RabbitMQ must be running (DX_POSTGRES, DX_RABBITMQ); if they are not, the tests FAIL.
/// </summary>
public class MarketFixture : IAsyncLifetime
{
    public const string DefaultPostgres = "Host=127.0.0.1;Port=55432;Username=dx;Password=dx;Database=dataexchange";
    public const string DefaultRabbitMq = "amqp://dx:dx@127.0.0.1:55672/";
    /// <summary>The services' N (Market__ExpectedTasks): the price grid every market in the fixture is opened with.</summary>
    public const int ExpectedTasks = 120;
    public static readonly string[] Services = ["Ingestion", "Pricing", "Allocation", "Payout"];

    /// <summary>The services the fixture starts (the first must be Ingestion, which the client talks to).</summary>
    protected virtual IReadOnlyList<string> ServicesAtStart => Services;

    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<string, int> _instances = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sellersLock = new(1, 1);
    private readonly HashSet<string> _registered = new(StringComparer.Ordinal);
    private string _mainPostgres = "";
    private bool _databaseCreated, _vhostCreated;

    public string RunId { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant();
    /// <summary>The market's key secret for this run (services and the operator's client share it).</summary>
    public string KeySecret { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    public ParticipantKeys Keys => new(KeySecret);

    /// <summary>
    /// An HTTP client to ingestion that presents the right participant key for each request: the seller of a
    /// /sellers/{id} path or body, else the buyer named in the body (a test that wants another key sets its own header).
    /// </summary>
    public HttpClient ParticipantHttp(string? baseUrl = null) =>
        new(new ParticipantKeyHandler(Keys) { InnerHandler = new HttpClientHandler() }) { BaseAddress = new Uri(baseUrl ?? IngestionUrl) };
    public string DatabaseName => $"dx_it_{RunId}";
    public string Vhost => $"dx-it-{RunId}";
    public string Postgres { get; private set; } = "";
    public string RabbitMq { get; private set; } = "";
    public string IngestionUrl { get; private set; } = "";
    public string RepoRoot { get; } = FindRepoRoot();
    public string LogDirectory { get; private set; } = "";
    public MarketClient Client { get; private set; } = null!;
    public EventLog Events { get; private set; } = null!;
    public RabbitManagement Rabbit { get; private set; } = null!;
    public IReadOnlyList<ServiceProcess> Processes { get { lock (_processes) return _processes.ToList(); } }

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        var clock = Stopwatch.StartNew();
        _mainPostgres = Environment.GetEnvironmentVariable("DX_POSTGRES") is { Length: > 0 } pg ? pg : DefaultPostgres;
        var rabbit = new Uri(Environment.GetEnvironmentVariable("DX_RABBITMQ") is { Length: > 0 } r ? r : DefaultRabbitMq);
        var (user, password) = UserInfo(rabbit);
        var mgmtPort = int.TryParse(Environment.GetEnvironmentVariable("DX_RABBIT_MGMT_PORT"), out var p) ? p : 55673;
        Rabbit = new RabbitManagement(new Uri($"http://{rabbit.Host}:{mgmtPort}/"), user, password);
        LogDirectory = Path.Combine(AppContext.BaseDirectory, "service-logs", $"{GetType().Name}-{RunId}");
        Directory.CreateDirectory(LogDirectory);

        try
        {
            await CheckPostgresAsync(ct);
            await Rabbit.CheckReachableAsync(ct);

            await using (var connection = new NpgsqlConnection(_mainPostgres))
            {
                await connection.OpenAsync(ct);
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{DatabaseName}\"", connection);
                await create.ExecuteNonQueryAsync(ct);
                _databaseCreated = true;
            }
            Postgres = new NpgsqlConnectionStringBuilder(_mainPostgres) { Database = DatabaseName }.ConnectionString;
            Events = new EventLog(Postgres);

            await Rabbit.CreateVhostAsync(Vhost, ct);
            _vhostCreated = true;
            RabbitMq = new UriBuilder(rabbit) { Path = "/" + Uri.EscapeDataString(Vhost) }.Uri.ToString();

            var dlls = await EnsureBuiltAsync(ct);
            var started = ServicesAtStart.Select(s => StartService(s, dlls[s])).ToList();
            await Task.WhenAll(started.Select(s => s.WaitReadyAsync(TimeSpan.FromSeconds(120), ct)));
            IngestionUrl = started[0].Url;
            Client = await MarketClient.ConnectAsync(RabbitMq, IngestionUrl, ct);
            File.AppendAllText(Path.Combine(LogDirectory, "fixture.log"),
                $"database {DatabaseName}, vhost {Vhost}, services ready in {clock.Elapsed.TotalSeconds:0.0} s\n");
        }
        catch (Exception e)
        {
            var logs = LogTails(60);
            await DisposeAsync();
            throw new InvalidOperationException($"The integration fixture could not start: {e.Message}\n{logs}", e);
        }
    }

    private async Task CheckPostgresAsync(CancellationToken ct)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(_mainPostgres) { Timeout = 10 };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or ArgumentException)
        {
            var safe = new NpgsqlConnectionStringBuilder(_mainPostgres) { Password = null };
            throw new InvalidOperationException(
                $"PostgreSQL is unreachable with DX_POSTGRES ({safe.ConnectionString}): {e.Message}. Run infra/up.sh and export DX_POSTGRES and DX_RABBITMQ " +
                "(source the env.sh it writes).", e);
        }
    }

    private ServiceProcess StartService(string service, string dll)
    {
        int instance;
        lock (_instances) instance = _instances[service] = _instances.GetValueOrDefault(service) + 1;
        var name = service.ToLowerInvariant() + (instance == 1 ? "" : $"-{instance}");
        var process = ServiceProcess.Start(name, dll, new Dictionary<string, string?>
        {
            ["DX_POSTGRES"] = Postgres,
            ["DX_RABBITMQ"] = RabbitMq,
            ["DX_KEY_SECRET"] = KeySecret,
            ["Market__ExpectedTasks"] = ExpectedTasks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
            ["ConnectionStrings__Postgres"] = null,
            ["ConnectionStrings__RabbitMq"] = null,
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        }, LogDirectory);
        lock (_processes) _processes.Add(process);
        return process;
    }

    /// <summary>Starts one more instance of a service (e.g. a second Pricing) against the same database and vhost.</summary>
    public async Task<ServiceProcess> StartInstanceAsync(string service, CancellationToken ct)
    {
        var dlls = await EnsureBuiltAsync(ct);
        var process = StartService(service, dlls[service]);
        await process.WaitReadyAsync(TimeSpan.FromSeconds(120), ct);
        return process;
    }

    public async Task StopInstanceAsync(ServiceProcess process)
    {
        await process.DisposeAsync();
        lock (_processes) _processes.Remove(process);
    }

    /// <summary>Registers a scenario's sellers (once per fixture; registration is idempotent anyway).</summary>
    public async Task EnsureSellersAsync(FeatureSet sellers, CancellationToken ct)
    {
        var key = string.Join(',', sellers.SellerIds) + "/" + sellers.Steps;
        await _sellersLock.WaitAsync(ct);
        try
        {
            if (_registered.Add(key)) await Client.RegisterSellersAsync(sellers, Keys, ct);
        }
        finally
        {
            _sellersLock.Release();
        }
    }

    /// <summary>The services' DLLs; builds the projects (Release) only when one is missing.</summary>
    private async Task<Dictionary<string, string>> EnsureBuiltAsync(CancellationToken ct)
    {
        var dlls = Services.ToDictionary(s => s, s => Path.Combine(RepoRoot, "services", $"DataExchange.{s}", "bin", "Release", "net10.0", $"DataExchange.{s}.dll"));
        foreach (var (service, dll) in dlls)
        {
            if (File.Exists(dll)) continue;
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
            foreach (var a in new[] { "build", Path.Combine(RepoRoot, "services", $"DataExchange.{service}"), "-c", "Release", "--nologo", "-v", "quiet" })
                psi.ArgumentList.Add(a);
            using var build = Process.Start(psi)!;
            var stdout = build.StandardOutput.ReadToEndAsync(ct);
            var stderr = build.StandardError.ReadToEndAsync(ct);
            await build.WaitForExitAsync(ct);
            if (build.ExitCode != 0 || !File.Exists(dll))
                throw new InvalidOperationException($"dotnet build of DataExchange.{service} failed ({build.ExitCode}):\n{await stdout}\n{await stderr}");
        }
        return dlls;
    }

    /// <summary>The tail of every service's log, for a failure message.</summary>
    public string LogTails(int lines = 40)
    {
        var sb = new StringBuilder();
        foreach (var p in Processes) sb.AppendLine(p.Tail(lines));
        return sb.ToString();
    }

    /// <summary>Runs a test body; a failure carries the services' log tails (and where the full logs are).</summary>
    public async Task Run(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception e)
        {
            throw new XunitException($"{e}\n\nService logs in {LogDirectory} (database {DatabaseName}, vhost {Vhost}):\n{LogTails(40)}");
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes (then returns false).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition()) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(250, ct);
        }
    }

    /// <summary>Messages parked in error queues (consumer faults that exhausted their retries).</summary>
    public async Task<IReadOnlyList<QueueInfo>> FaultedQueuesAsync(CancellationToken ct) =>
        (await Rabbit.QueuesAsync(Vhost, ct)).Where(q => q.Name.EndsWith("_error", StringComparison.Ordinal) && q.Messages > 0).ToList();

    public virtual async Task DisposeAsync()
    {
        if (Client is not null)
        {
            try { await Client.DisposeAsync(); } catch (Exception) { /* the bus may already be gone */ }
            Client = null!;
        }
        foreach (var p in Processes) await p.DisposeAsync();
        lock (_processes) _processes.Clear();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // DX_IT_KEEP=1 leaves the database and vhost behind for a post-mortem (their names are in fixture.log).
        if (Environment.GetEnvironmentVariable("DX_IT_KEEP") == "1")
        {
            File.AppendAllText(Path.Combine(LogDirectory, "fixture.log"), $"kept database {DatabaseName} and vhost {Vhost} (DX_IT_KEEP=1)\n");
            _databaseCreated = _vhostCreated = false;
        }
        if (_databaseCreated)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(_mainPostgres);
            await connection.OpenAsync(cts.Token);
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync(cts.Token);
            _databaseCreated = false;
        }
        if (_vhostCreated)
        {
            await Rabbit.DeleteVhostAsync(Vhost, cts.Token);
            _vhostCreated = false;
        }
        Rabbit?.Dispose();
    }

    private static (string User, string Password) UserInfo(Uri amqp)
    {
        var parts = amqp.UserInfo.Split(':', 2);
        return parts.Length == 2 && parts[0].Length > 0
            ? (Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]))
            : ("guest", "guest");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DataExchange.sln"))) return dir.FullName;
        throw new InvalidOperationException($"DataExchange.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>The shared market: tests 1, 3, 4, 5 run one after another against ONE set of services.</summary>
[CollectionDefinition(Name)]
public sealed class MarketCollection : ICollectionFixture<MarketFixture>
{
    public const string Name = "market";
}

/// <summary>A market of its own for the equivalence test: no other test's sellers can join its tasks.</summary>
public sealed class EquivalenceFixture : MarketFixture;

[CollectionDefinition(Name)]
public sealed class EquivalenceCollection : ICollectionFixture<EquivalenceFixture>
{
    public const string Name = "equivalence";
}
