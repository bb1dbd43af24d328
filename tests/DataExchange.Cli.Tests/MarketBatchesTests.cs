using DataExchange.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>
/// Load-formed batches (MarketBatches.AddBatchConsumer) on MassTransit's in-memory harness: a worker that comes free takes
/// everything that waited, up to the limit, and a batch that failed because of one message still succeeds for the others.
/// </summary>
public sealed class MarketBatchesTests
{
    public sealed record Ping(int N);

    /// <summary>What the consumer was handed. Message 0 holds its batch until released; a batch holding Poison fails.</summary>
    public sealed class BatchLog
    {
        public const int Poison = -1;
        private readonly Lock _lock = new();
        private readonly List<int[]> _batches = [];
        private readonly List<int> _consumed = [];
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int[][] Batches { get { lock (_lock) return _batches.ToArray(); } }
        public int[] Consumed { get { lock (_lock) return _consumed.ToArray(); } }

        public void Started(int[] batch) { lock (_lock) _batches.Add(batch); }
        public void Done(int[] batch) { lock (_lock) _consumed.AddRange(batch); }
    }

    public sealed class PingBatchConsumer(BatchLog log) : IConsumer<Batch<Ping>>
    {
        public async Task Consume(ConsumeContext<Batch<Ping>> context)
        {
            var batch = context.Message.Select(m => m.Message.N).ToArray();
            log.Started(batch);
            if (batch.Contains(0)) await log.Release.Task;
            if (batch.Contains(BatchLog.Poison)) throw new InvalidOperationException("a poison message");
            log.Done(batch);
        }
    }

    private static async Task<(ServiceProvider Provider, ITestHarness Harness)> Start(int messageLimit)
    {
        var provider = new ServiceCollection()
            .AddSingleton<BatchLog>()
            .AddMassTransitTestHarness(x =>
            {
                x.AddBatchConsumer<PingBatchConsumer, Ping>("test", messageLimit, concurrency: 1);
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseMessageRetry(r => r.Immediate(3));
                    cfg.ConfigureEndpoints(context);
                });
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return (provider, harness);
    }

    /// <summary>Runs a test and releases the held batch whatever happens, so that the bus can stop.</summary>
    private static async Task Held(BatchLog log, Func<Task> test)
    {
        try { await test(); }
        finally { log.Release.TrySetResult(); }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 30 s for {what}");
            await Task.Delay(10);
        }
    }

    // Mutation watched failing: the worker taking one message per batch (limit 1 in its loop): batches [1], [2], ... instead of [1..4], [5, 6].
    [Fact]
    public async Task A_free_worker_takes_everything_that_waited_up_to_the_limit()
    {
        var (provider, harness) = await Start(messageLimit: 4);
        await using var _ = provider;
        var log = provider.GetRequiredService<BatchLog>();
        var batches = provider.GetRequiredService<BatchFormer<PingBatchConsumer, Ping>>();

        await Held(log, async () =>
        {
            await harness.Bus.Publish(new Ping(0));
            await Until(() => log.Batches.Length == 1, "the first batch to start");
            for (var n = 1; n <= 6; n++) await harness.Bus.Publish(new Ping(n));
            await Until(() => batches.Waiting == 6, "six messages waiting behind the running batch");
            log.Release.SetResult();
            await Until(() => log.Consumed.Length == 7, "every message consumed");
        });

        Assert.Equal([[0], [1, 2, 3, 4], [5, 6]], log.Batches);
        Assert.Equal(0, batches.Waiting);
    }

    // Mutation watched failing: a retried message joining a batch like any other (Alone ignored): the three retried
    // together fail together every time, and messages 1 and 2 end faulted with the poison.
    [Fact]
    public async Task A_batch_that_fails_because_of_one_message_succeeds_for_the_others_when_retried_alone()
    {
        var (provider, harness) = await Start(messageLimit: 8);
        await using var _ = provider;
        var log = provider.GetRequiredService<BatchLog>();
        var batches = provider.GetRequiredService<BatchFormer<PingBatchConsumer, Ping>>();

        await Held(log, async () =>
        {
            await harness.Bus.Publish(new Ping(0));
            await Until(() => log.Batches.Length == 1, "the first batch to start");
            foreach (var n in new[] { 1, BatchLog.Poison, 2 }) await harness.Bus.Publish(new Ping(n));
            await Until(() => batches.Waiting == 3, "three messages waiting behind the running batch");
        });

        Assert.True(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N == BatchLog.Poison), "the poison message faulted");
        await Until(() => log.Consumed.Length == 3, "messages 0, 1 and 2 consumed");
        Assert.Equal([0, 1, 2], log.Consumed.Order().ToArray());
        Assert.Contains(log.Batches, b => b.SequenceEqual([1, BatchLog.Poison, 2]));
        // After the failed batch, every batch is one retried message.
        var afterFailure = log.Batches.SkipWhile(b => b.Length != 3).Skip(1).ToArray();
        Assert.NotEmpty(afterFailure);
        Assert.All(afterFailure, b => Assert.Single(b));
        Assert.False(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N != BatchLog.Poison), "no other message faulted");
    }
}
