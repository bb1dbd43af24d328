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

    /// <summary>What the consumer was handed. Messages 0 and Held hold their batch until released; a batch holding Poison fails.</summary>
    public sealed class BatchLog
    {
        public const int Poison = -1;
        public const int Held = 1000;
        public const int Permanent = -2;
        private readonly Lock _lock = new();
        private readonly List<int[]> _batches = [];
        private readonly List<int> _consumed = [];
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource ReleaseHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            if (batch.Contains(BatchLog.Held)) await log.ReleaseHeld.Task;
            if (batch.Contains(BatchLog.Poison)) throw new InvalidOperationException("a poison message");
            if (batch.Contains(BatchLog.Permanent)) throw new PermanentFailureException("a message no retry can fix");
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
                    // One retry, late enough for the test to hold the worker busy first (see the second test).
                    cfg.UseMessageRetry(r =>
                    {
                        r.Interval(1, TimeSpan.FromSeconds(2));
                        r.Ignore<PermanentFailureException>();   // as the services configure it
                    });
                    cfg.ConfigureEndpoints(context);
                });
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return (provider, harness);
    }

    /// <summary>
    /// Starts the consumer, holds a first batch (message 0) running while <paramref name="behind"/> are published, waits
    /// until they are all waiting, then releases it (also when something failed, so that the bus can stop).
    /// </summary>
    private static async Task<(ServiceProvider Provider, ITestHarness Harness, BatchLog Log, BatchFormer<PingBatchConsumer, Ping> Batches)>
        BehindAHeldBatch(int messageLimit, int[] behind)
    {
        var (provider, harness) = await Start(messageLimit);
        var log = provider.GetRequiredService<BatchLog>();
        var batches = provider.GetRequiredService<BatchFormer<PingBatchConsumer, Ping>>();
        try
        {
            await harness.Bus.Publish(new Ping(0));
            await Until(() => log.Batches.Length == 1, "the first batch to start");
            foreach (var n in behind) await harness.Bus.Publish(new Ping(n));
            await Until(() => batches.Waiting == behind.Length, $"{behind.Length} messages waiting behind the running batch");
        }
        finally
        {
            log.Release.TrySetResult();
        }
        return (provider, harness, log, batches);
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
        var (provider, _, log, batches) = await BehindAHeldBatch(messageLimit: 4, [1, 2, 3, 4, 5, 6]);
        await using var _ = provider;
        await Until(() => log.Consumed.Length == 7, "every message consumed");

        Assert.Equal([[0], [1, 2, 3, 4], [5, 6]], log.Batches);
        Assert.Equal(0, batches.Waiting);
    }

    // Mutation watched failing: a retried message joining a batch like any other (Alone ignored): the three retries,
    // waiting together behind a held batch, fail together again, and messages 1 and 2 end faulted with the poison.
    [Fact]
    public async Task A_batch_that_fails_because_of_one_message_succeeds_for_the_others_when_retried_alone()
    {
        var (provider, harness, log, batches) = await BehindAHeldBatch(messageLimit: 8, [1, BatchLog.Poison, 2]);
        await using var _ = provider;
        try
        {
            // The batch of the three fails; while their retries wait out the retry interval, a held batch takes the worker,
            // so that the three retries are all waiting when it comes free again.
            await Until(() => log.Batches.Any(b => b.SequenceEqual([1, BatchLog.Poison, 2])), "the batch of the three to run");
            await harness.Bus.Publish(new Ping(BatchLog.Held));
            await Until(() => log.Batches.Any(b => b.SequenceEqual([BatchLog.Held])), "the held batch to start");
            await Until(() => batches.Waiting == 3, "the three retries waiting behind the held batch");
        }
        finally
        {
            log.ReleaseHeld.TrySetResult();
        }

        Assert.True(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N == BatchLog.Poison), "the poison message faulted");
        await Until(() => log.Consumed.Length == 4, "messages 0, 1, 2 and the held one consumed");
        Assert.Equal([0, 1, 2, BatchLog.Held], log.Consumed.Order().ToArray());
        // After the held batch, every batch is one retried message.
        var retried = log.Batches.SkipWhile(b => !b.SequenceEqual([BatchLog.Held])).Skip(1).ToArray();
        Assert.Equal(3, retried.Length);
        Assert.All(retried, b => Assert.Single(b));
        Assert.False(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N != BatchLog.Poison), "no other message faulted");
    }

    // Mutation watched failing: the batch's PermanentFailureException passed on as it is: the retry policy ignores it, so
    // messages 1 and 2 went to the error queue (faulted) with the one message it belonged to.
    [Fact]
    public async Task A_permanent_failure_in_a_batch_is_permanent_only_for_its_own_message()
    {
        var (provider, harness, log, _) = await BehindAHeldBatch(messageLimit: 8, [1, BatchLog.Permanent, 2]);
        await using var _ = provider;

        Assert.True(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N == BatchLog.Permanent), "the permanent failure faulted");
        await Until(() => log.Consumed.Length == 3, "messages 0, 1 and 2 consumed");
        Assert.Equal([0, 1, 2], log.Consumed.Order().ToArray());
        // Tried twice: in the batch, then alone (not retried again: permanent).
        Assert.Equal(2, log.Batches.Count(b => b.Contains(BatchLog.Permanent)));
        Assert.False(await harness.Published.Any<Fault<Ping>>(f => f.Context.Message.Message.N != BatchLog.Permanent), "no other message faulted");
    }
}
