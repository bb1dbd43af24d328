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
/// do not read before a first delivery), and the mechanism: these give a floor for `dx market run --sequential` below
/// which no tuning of the services goes. README, Benchmarks: latency.
/// Needs DX_RABBITMQ and DX_POSTGRES (infra/up.sh writes them to its env.sh); leaves the schema bench_floor dropped and
/// its queues deleted (dx-floor-*, unused for a minute, or auto-delete).
/// </summary>
public static class LatencyFloor
{
    private const string RawPing = "dx-floor-raw-ping", RawPong = "dx-floor-raw-pong";
    private const string Schema = "bench_floor";
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(20);

    public static async Task Run(TextWriter output, int rounds)
    {
        var rabbit = Setting("DX_RABBITMQ");
        var postgres = Setting("DX_POSTGRES");
        output.WriteLine($"Latency floor at rest, {rounds} rounds each after 20 warm-up rounds, {Idle.TotalMilliseconds:F0} ms idle between rounds ({Environment.ProcessorCount} cores)");

        var raw = await WithEcho("raw", () => RawRoundTrips(rabbit, rounds));
        output.WriteLine($"  RabbitMQ hop (RabbitMQ.Client, persistent, confirms)     : p50 {Median(raw) / 2:F2} ms  (round trip p50 {Median(raw):F2}, p90 {P90(raw):F2})");
        var mt = await WithEcho("masstransit", () => MassTransitRoundTrips(rabbit, rounds));
        output.WriteLine($"  MassTransit hop (publish to consume, two processes)      : p50 {Median(mt) / 2:F2} ms  (round trip p50 {Median(mt):F2}, p90 {P90(mt):F2})");
        var (read, commit) = await MartenRoundTrips(postgres, rounds);
        output.WriteLine($"  Marten read (one document by id)                         : p50 {Median(read):F2} ms  (p90 {P90(read):F2})");
        output.WriteLine($"  Marten commit (start a stream with one event, a marker)  : p50 {Median(commit):F2} ms  (p90 {P90(commit):F2})");
        var floor = 5 * Median(mt) / 2 + 4 * Median(commit) + 2 * Median(read);
        output.WriteLine($"  floor of one task without the mechanism (5 MassTransit hops, 4 commits, 2 reads): {floor:F1} ms");
        output.WriteLine($"  so a task's p50 at rest is over 10x the mechanism's time whenever `dx simulate` gives under {floor / 9:F2} ms per task");
        output.WriteLine("  (floor + mechanism > 10 x mechanism); run `./dx simulate` now for this run's figure");
    }

    /// <summary>The echo side, in a child process: answers each ping with a pong until it is killed.</summary>
    public static async Task Echo(string kind)
    {
        var rabbit = Setting("DX_RABBITMQ");
        if (kind == "raw")
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(rabbit) }.CreateConnectionAsync();
            await using var channel = await RawChannel(connection);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                var body = delivery.Body.ToArray();
                await channel.BasicAckAsync(delivery.DeliveryTag, false);
                await channel.BasicPublishAsync("", RawPong, false, new BasicProperties { Persistent = true }, body);
            };
            await channel.BasicConsumeAsync(RawPing, false, consumer);
            Console.WriteLine("ready");
            await Task.Delay(Timeout.Infinite);
        }
        var bus = FloorBus<PingConsumer>(rabbit, "dx-floor-ping");
        await bus.StartAsync();
        Console.WriteLine("ready");
        await Task.Delay(Timeout.Infinite);
    }

    private static async Task<List<double>> RawRoundTrips(string rabbit, int rounds)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbit) }.CreateConnectionAsync();
        await using var channel = await RawChannel(connection);
        TaskCompletionSource<long> pong = new();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await channel.BasicAckAsync(delivery.DeliveryTag, false);
            pong.TrySetResult(Stopwatch.GetTimestamp());
        };
        await channel.BasicConsumeAsync(RawPong, false, consumer);
        var body = new byte[2000];
        return await Rounds(rounds, async () =>
        {
            pong = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var start = Stopwatch.GetTimestamp();
            await channel.BasicPublishAsync("", RawPing, false, new BasicProperties { Persistent = true }, body);
            return Stopwatch.GetElapsedTime(start, await pong.Task).TotalMilliseconds;
        });
    }

    private static async Task<List<double>> MassTransitRoundTrips(string rabbit, int rounds)
    {
        var bus = FloorBus<PongConsumer>(rabbit, "dx-floor-pong");
        await bus.StartAsync();
        try
        {
            var body = new string('x', 2000);
            return await Rounds(rounds, async () =>
            {
                PongConsumer.Heard = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                var start = Stopwatch.GetTimestamp();
                await bus.Publish(new FloorPing(body));
                return Stopwatch.GetElapsedTime(start, await PongConsumer.Heard.Task).TotalMilliseconds;
            });
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>A bus with one auto-deleted endpoint (nothing left on the broker once the process has gone).</summary>
    private static IBusControl FloorBus<TConsumer>(string rabbit, string queue) where TConsumer : class, IConsumer, new() =>
        Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbit));
            cfg.ReceiveEndpoint(queue, e =>
            {
                e.AutoDelete = true;
                e.Consumer<TConsumer>();
            });
        });

    /// <summary>A read of one document and a commit shaped like a service's (a new stream with one event, and a marker document), in a schema of its own.</summary>
    private static async Task<(List<double> Read, List<double> Commit)> MartenRoundTrips(string postgres, int rounds)
    {
        await using var store = DocumentStore.For(o =>
        {
            MarketStore.Configure(o, postgres, Schema);
            o.Schema.For<FloorMarker>();
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var reads = new List<double>();
        var known = Guid.NewGuid().ToString();
        await using (var first = store.LightweightSession())
        {
            first.Store(new FloorMarker { Id = known });
            await first.SaveChangesAsync();
        }
        var commits = await Rounds(rounds, async () =>
        {
            await using var session = store.LightweightSession();
            var start = Stopwatch.GetTimestamp();
            await session.LoadAsync<FloorMarker>(known);
            var loaded = Stopwatch.GetTimestamp();
            var id = Guid.NewGuid().ToString();
            session.Events.StartStream(id, new FloorEvent(id, new double[400]));
            session.Insert(new FloorMarker { Id = id });
            await session.SaveChangesAsync();
            reads.Add(Stopwatch.GetElapsedTime(start, loaded).TotalMilliseconds);
            return Stopwatch.GetElapsedTime(loaded).TotalMilliseconds;
        });
        await using (var connection = new Npgsql.NpgsqlConnection(postgres))
        {
            await connection.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand($"drop schema if exists \"{Schema}\" cascade", connection);
            await drop.ExecuteNonQueryAsync();
        }
        return (reads.Skip(reads.Count - commits.Count).ToList(), commits);
    }

    private static async Task<List<double>> Rounds(int rounds, Func<Task<double>> round)
    {
        var times = new List<double>(rounds);
        for (var i = 0; i < rounds + 20; i++)
        {
            var ms = await round();
            if (i >= 20) times.Add(ms);
            await Task.Delay(Idle);
        }
        return times;
    }

    private static async Task<T> WithEcho<T>(string kind, Func<Task<T>> measure)
    {
        var self = Assembly.GetEntryAssembly()!.Location;
        var host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(self);
        start.ArgumentList.Add("--latency-floor-echo");
        start.ArgumentList.Add(kind);
        using var echo = Process.Start(start)!;
        try
        {
            if (await echo.StandardOutput.ReadLineAsync() != "ready") throw new InvalidOperationException($"the {kind} echo process did not start");
            return await measure();
        }
        finally
        {
            echo.Kill(entireProcessTree: true);
            await echo.WaitForExitAsync();
        }
    }

    private static async Task<IChannel> RawChannel(IConnection connection)
    {
        var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        // Durable like the market's queues; deleted with the broker's other leftovers only when unused for a minute.
        var expires = new Dictionary<string, object?> { ["x-expires"] = 60_000 };
        await channel.QueueDeclareAsync(RawPing, durable: true, exclusive: false, autoDelete: false, arguments: expires);
        await channel.QueueDeclareAsync(RawPong, durable: true, exclusive: false, autoDelete: false, arguments: expires);
        return channel;
    }

    private static string Setting(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
        ? v
        : throw new InvalidOperationException($"{name} is not set: source the env.sh that infra/up.sh writes");

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
    private static double P90(List<double> xs) => xs.Order().ElementAt(xs.Count * 9 / 10);
}

public sealed record FloorPing(string Body);
public sealed record FloorPong(string Body);
public sealed record FloorEvent(string Id, double[] Series);
public sealed class FloorMarker { public string Id { get; set; } = ""; }

public sealed class PingConsumer : IConsumer<FloorPing>
{
    public Task Consume(ConsumeContext<FloorPing> context) => context.Publish(new FloorPong(context.Message.Body));
}

public sealed class PongConsumer : IConsumer<FloorPong>
{
    public static TaskCompletionSource<long> Heard { get; set; } = new();

    public Task Consume(ConsumeContext<FloorPong> context)
    {
        Heard.TrySetResult(Stopwatch.GetTimestamp());
        return Task.CompletedTask;
    }
}
