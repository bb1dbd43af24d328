using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection;
using DataExchange.ServiceDefaults.Storage;
using Marten;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace DataExchange.Benchmarks;

/// <summary>
/// What one task's path through the services costs at least on this machine, at rest: the time of one bus hop (raw
/// RabbitMQ, and MassTransit with its defaults, each between two processes) and of one Marten read and commit like
/// a service's, each measured alone with the market otherwise idle. A task crosses five bus hops (buyer, ingestion,
/// pricing, allocation, payout, buyer), four commits and two reads (ingestion's and pricing's; allocation and payout
/// read nothing before a first delivery once their replica of the sellers' series is cached), and the mechanism: these
/// give a floor for `dx market run --sequential` below which no tuning of the services goes. README, Benchmarks: latency.
/// Needs DX_RABBITMQ and DX_POSTGRES (infra/up.sh writes them to its env.sh). Each run has names of its own (queues,
/// schema), so runs may overlap; it drops its schema and leaves no queue or exchange behind (auto-delete, or expiry).
/// </summary>
public static class LatencyFloor
{
    private const int WarmUp = 20;
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan PongTimeout = TimeSpan.FromSeconds(10);

    public static async Task Run(TextWriter output, int rounds)
    {
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "rounds: at least 1");
        var rabbit = Setting("DX_RABBITMQ");
        var postgres = Setting("DX_POSTGRES");
        var run = Guid.NewGuid().ToString("N")[..8];
        output.WriteLine($"Latency floor at rest, {rounds} rounds each after {WarmUp} warm-up rounds, {Idle.TotalMilliseconds:F0} ms idle between rounds ({Environment.ProcessorCount} cores)");

        var raw = Spread.Of(await WithEcho("raw", run, () => RawRoundTrips(rabbit, run, rounds)));
        output.WriteLine($"  RabbitMQ hop (RabbitMQ.Client, persistent, confirms)     : p50 {raw.P50 / 2:F2} ms  (round trip p50 {raw.P50:F2}, p90 {raw.P90:F2})");
        var mt = Spread.Of(await WithEcho("masstransit", run, () => MassTransitRoundTrips(rabbit, run, rounds)));
        output.WriteLine($"  MassTransit hop (publish to consume, two processes)      : p50 {mt.P50 / 2:F2} ms  (round trip p50 {mt.P50:F2}, p90 {mt.P90:F2})");
        var (reads, commits) = await MartenRoundTrips(postgres, $"bench_floor_{run}", rounds);
        var (read, commit) = (Spread.Of(reads), Spread.Of(commits));
        output.WriteLine($"  Marten read (one document by id)                         : p50 {read.P50:F2} ms  (p90 {read.P90:F2})");
        output.WriteLine($"  Marten commit (start a stream with one event, a marker)  : p50 {commit.P50:F2} ms  (p90 {commit.P90:F2})");
        var floor = 5 * mt.P50 / 2 + 4 * commit.P50 + 2 * read.P50;
        output.WriteLine($"  floor of one task without the mechanism (5 MassTransit hops, 4 commits, 2 reads): {floor:F1} ms");
        output.WriteLine($"  so a task's p50 at rest is over 10x the mechanism's time whenever `dx simulate` gives under {floor / 9:F2} ms per task");
        output.WriteLine("  (floor + mechanism > 10 x mechanism); run `./dx simulate` now for this run's figure");
    }

    /// <summary>The echo side, in a child process: answers each ping with a pong until its parent closes its input.</summary>
    public static async Task Echo(string kind, string run)
    {
        var rabbit = Setting("DX_RABBITMQ");
        // The parent holds this process's standard input: when the parent is gone, for whatever reason, so is the echo.
        var parentGone = Task.Run(() => Console.In.ReadToEnd());
        switch (kind)
        {
            case "raw":
                await using (var connection = await new ConnectionFactory { Uri = new Uri(rabbit) }.CreateConnectionAsync())
                await using (var channel = await RawChannel(connection, run))
                {
                    var consumer = new AsyncEventingBasicConsumer(channel);
                    consumer.ReceivedAsync += async (_, delivery) =>
                    {
                        var body = delivery.Body.ToArray();
                        await channel.BasicAckAsync(delivery.DeliveryTag, false);
                        await channel.BasicPublishAsync("", RawQueue("pong", run), false, new BasicProperties { Persistent = true }, body);
                    };
                    await channel.BasicConsumeAsync(RawQueue("ping", run), false, consumer);
                    Console.WriteLine("ready");
                    await parentGone;
                }
                break;
            case "masstransit":
                var bus = FloorBus<PingConsumer>(rabbit, $"dx-floor-ping-{run}");
                await bus.StartAsync();
                Console.WriteLine("ready");
                await parentGone;
                await bus.StopAsync();
                break;
            default:
                throw new ArgumentException($"echo kind: 'raw' or 'masstransit', not '{kind}'", nameof(kind));
        }
    }

    private static async Task<List<double>> RawRoundTrips(string rabbit, string run, int rounds)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbit) }.CreateConnectionAsync();
        await using var channel = await RawChannel(connection, run);
        var awaited = new Awaited(run, -1);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var now = Stopwatch.GetTimestamp();
            var round = BinaryPrimitives.ReadInt32LittleEndian(delivery.Body.Span);
            await channel.BasicAckAsync(delivery.DeliveryTag, false);
            Volatile.Read(ref awaited).Heard(run, round, now);
        };
        await channel.BasicConsumeAsync(RawQueue("pong", run), false, consumer);
        var body = new byte[2000];
        return await Rounds(rounds, async round =>
        {
            var pong = new Awaited(run, round);
            Volatile.Write(ref awaited, pong);
            BinaryPrimitives.WriteInt32LittleEndian(body, round);
            var start = Stopwatch.GetTimestamp();
            await channel.BasicPublishAsync("", RawQueue("ping", run), false, new BasicProperties { Persistent = true }, body);
            return Stopwatch.GetElapsedTime(start, await Answer(pong.Answer, "RabbitMQ")).TotalMilliseconds;
        });
    }

    private static async Task<List<double>> MassTransitRoundTrips(string rabbit, string run, int rounds)
    {
        var bus = FloorBus<PongConsumer>(rabbit, $"dx-floor-pong-{run}");
        await bus.StartAsync();
        try
        {
            var body = new string('x', 2000);
            return await Rounds(rounds, async round =>
            {
                var heard = PongConsumer.Expect(run, round).Answer;
                var start = Stopwatch.GetTimestamp();
                await bus.Publish(new FloorPing(run, round, body));
                return Stopwatch.GetElapsedTime(start, await Answer(heard, "MassTransit")).TotalMilliseconds;
            });
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>
    /// A bus with one endpoint; its queue and the message types' exchanges are deleted once unused, so nothing stays on
    /// the broker after the run. Every run's echo sees every run's pings (one exchange per message type): each answer
    /// carries its run and round, and only the asker's own ends a round.
    /// </summary>
    private static IBusControl FloorBus<TConsumer>(string rabbit, string queue) where TConsumer : class, IConsumer, new() =>
        Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbit));
            cfg.Publish<FloorPing>(p => p.AutoDelete = true);
            cfg.Publish<FloorPong>(p => p.AutoDelete = true);
            cfg.ReceiveEndpoint(queue, e =>
            {
                e.AutoDelete = true;
                e.Consumer<TConsumer>();
            });
        });

    /// <summary>A read of one document and a commit shaped like a service's (a new stream with one event, and a marker document), in a schema of its own.</summary>
    private static async Task<(List<double> Read, List<double> Commit)> MartenRoundTrips(string postgres, string schema, int rounds)
    {
        try
        {
            await using var store = DocumentStore.For(o =>
            {
                MarketStore.Configure(o, postgres, schema);
                o.Schema.For<FloorMarker>();
            });
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            var known = Guid.NewGuid().ToString();
            await using (var first = store.LightweightSession())
            {
                first.Store(new FloorMarker { Id = known });
                await first.SaveChangesAsync();
            }
            var reads = new List<double>();
            var commits = await Rounds(rounds, async round =>
            {
                await using var session = store.LightweightSession();
                var start = Stopwatch.GetTimestamp();
                await session.LoadAsync<FloorMarker>(known);
                var loaded = Stopwatch.GetTimestamp();
                var id = Guid.NewGuid().ToString();
                session.Events.StartStream(id, new FloorEvent(id, new double[400]));
                session.Insert(new FloorMarker { Id = id });
                await session.SaveChangesAsync();
                if (round >= WarmUp) reads.Add(Stopwatch.GetElapsedTime(start, loaded).TotalMilliseconds);
                return Stopwatch.GetElapsedTime(loaded).TotalMilliseconds;
            });
            return (reads, commits);
        }
        finally
        {
            await DataExchange.Reports.BenchmarkLog.DropSchemaAsync(postgres, schema, CancellationToken.None);
        }
    }

    /// <summary>Warm-up rounds and then the measured ones (their times returned), with the idle pause after each.</summary>
    private static async Task<List<double>> Rounds(int rounds, Func<int, Task<double>> round)
    {
        var times = new List<double>(rounds);
        for (var i = 0; i < rounds + WarmUp; i++)
        {
            var ms = await round(i);
            if (i >= WarmUp) times.Add(ms);
            await Task.Delay(Idle);
        }
        return times;
    }

    private static async Task<long> Answer(Task<long> pong, string what)
    {
        try
        {
            return await pong.WaitAsync(PongTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no {what} answer within {PongTimeout.TotalSeconds:F0} s: is the broker up (DX_RABBITMQ)?");
        }
    }

    private static async Task<T> WithEcho<T>(string kind, string run, Func<Task<T>> measure)
    {
        var self = Assembly.GetEntryAssembly()!.Location;
        var host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(self);
        foreach (var a in new[] { "--latency-floor-echo", kind, run }) start.ArgumentList.Add(a);
        using var echo = Process.Start(start)!;
        try
        {
            var ready = await echo.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (ready != "ready") throw new InvalidOperationException($"the {kind} echo process did not start (its errors are above)");
            return await measure();
        }
        finally
        {
            echo.StandardInput.Close();
            if (!echo.WaitForExit(TimeSpan.FromSeconds(10))) echo.Kill(entireProcessTree: true);
            await echo.WaitForExitAsync();
        }
    }

    private static string RawQueue(string which, string run) => $"dx-floor-raw-{which}-{run}";

    private static async Task<IChannel> RawChannel(IConnection connection, string run)
    {
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        // Durable like the market's queues; the broker deletes them once unused for a minute.
        var expires = new Dictionary<string, object?> { ["x-expires"] = 60_000 };
        foreach (var which in new[] { "ping", "pong" })
            await channel.QueueDeclareAsync(RawQueue(which, run), durable: true, exclusive: false, autoDelete: false, arguments: expires);
        return channel;
    }

    private static string Setting(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
        ? v
        : throw new InvalidOperationException($"{name} is not set: source the env.sh that infra/up.sh writes");

    /// <summary>Median and 90th percentile of a list of times (nearest rank).</summary>
    private sealed record Spread(double P50, double P90)
    {
        public static Spread Of(List<double> times)
        {
            var sorted = times.Order().ToArray();
            double At(double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
            return new Spread(At(0.5), At(0.9));
        }
    }
}

public sealed record FloorPing(string Run, int Round, string Body);
public sealed record FloorPong(string Run, int Round, string Body);
public sealed record FloorEvent(string Id, double[] Series);
public sealed class FloorMarker { public string Id { get; set; } = ""; }

public sealed class PingConsumer : IConsumer<FloorPing>
{
    public Task Consume(ConsumeContext<FloorPing> context) =>
        context.Publish(new FloorPong(context.Message.Run, context.Message.Round, context.Message.Body));
}

/// <summary>The pong one round waits for: only its own ends it (not a late one from a round that timed out, nor another run's).</summary>
public sealed class Awaited(string run, int round)
{
    private readonly TaskCompletionSource<long> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<long> Answer => _answer.Task;

    public void Heard(string pongRun, int pongRound, long at)
    {
        if (pongRun == run && pongRound == round) _answer.TrySetResult(at);
    }
}

public sealed class PongConsumer : IConsumer<FloorPong>
{
    private static Awaited _awaited = new("", -1);

    public static Awaited Expect(string run, int round)
    {
        var awaited = new Awaited(run, round);
        Volatile.Write(ref _awaited, awaited);
        return awaited;
    }

    public Task Consume(ConsumeContext<FloorPong> context)
    {
        Volatile.Read(ref _awaited).Heard(context.Message.Run, context.Message.Round, Stopwatch.GetTimestamp());
        return Task.CompletedTask;
    }
}
