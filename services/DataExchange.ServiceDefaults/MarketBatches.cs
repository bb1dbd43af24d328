using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using MassTransit.Batching;
using MassTransit.Context;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// How the services batch: many messages per transaction is what keeps the database from being the bottleneck, and
/// a batch forms from the load itself. A batch worker that comes free takes at once everything that arrived while it
/// worked (up to the message limit), so a lone task starts the moment it is received and a burst still fills its
/// batches. MassTransit's own Batch&lt;T&gt; closes a batch on a timer instead: its 1 ms window, the timer's thread and
/// two hand-offs cost a lone task 2 to 6 ms at every hop (README, Benchmarks: latency).
/// </summary>
public static class MarketBatches
{
    /// <summary>
    /// Registers <typeparamref name="TConsumer"/> (a consumer of Batch&lt;TMessage&gt;) on the queue MassTransit would give
    /// it (service-consumer, e.g. pricing-quote), fed by load-formed batches of up to <paramref name="messageLimit"/>
    /// messages, <paramref name="concurrency"/> batches at a time. The consumer and its scoped services are resolved
    /// from a scope of their own per batch.
    /// </summary>
    public static void AddBatchConsumer<TConsumer, TMessage>(this IBusRegistrationConfigurator bus, string service, int messageLimit = 32, int concurrency = 2)
        where TConsumer : class, IConsumer<Batch<TMessage>>
        where TMessage : class
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messageLimit);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        bus.TryAddScoped<TConsumer>();
        bus.TryAddSingleton(sp => new BatchFormer<TConsumer, TMessage>(sp.GetRequiredService<IServiceScopeFactory>(), messageLimit, concurrency));
        bus.AddConsumer<BatchMemberConsumer<TConsumer, TMessage>>()
            .Endpoint(e =>
            {
                e.Name = new KebabCaseEndpointNameFormatter(service, false).Consumer<TConsumer>();
                // Enough messages in flight for every running batch and a full one waiting behind them (the bus's own
                // prefetch still applies when it is larger).
                var capacity = messageLimit * (concurrency + 1);
                e.AddConfigureEndpointCallback(c =>
                {
                    c.PrefetchCount = Math.Max(capacity, c.PrefetchCount);
                    if (!(c.ConcurrentMessageLimit >= capacity)) c.ConcurrentMessageLimit = capacity;
                });
            });
    }
}

/// <summary>
/// One message of a load-formed batch: waits until the batch it joined is done, and fails as that batch failed (the
/// message is then retried by the bus's retry policy, alone).
/// </summary>
public sealed class BatchMemberConsumer<TConsumer, TMessage>(BatchFormer<TConsumer, TMessage> batches) : IConsumer<TMessage>
    where TConsumer : class, IConsumer<Batch<TMessage>>
    where TMessage : class
{
    public Task Consume(ConsumeContext<TMessage> context) => batches.Join(context);
}

/// <summary>
/// Forms batches of <typeparamref name="TMessage"/> from what is waiting when a worker comes free and hands each to a
/// fresh <typeparamref name="TConsumer"/>. A retried message runs alone, as in MassTransit's batches: a batch that failed
/// because of one message then succeeds for the others.
/// </summary>
public sealed class BatchFormer<TConsumer, TMessage>
    where TConsumer : class, IConsumer<Batch<TMessage>>
    where TMessage : class
{
    private readonly IServiceScopeFactory _scopes;
    private readonly int _messageLimit;
    private readonly int _concurrency;
    private readonly Channel<Member> _waiting = Channel.CreateUnbounded<Member>();

    /// <summary>A message waiting for (or in) a batch. Once a worker has taken it, it waits for its batch whatever happens.</summary>
    private sealed class Member(ConsumeContext<TMessage> context, bool alone, Activity? activity)
    {
        private const int Queued = 0, Taken = 1, Cancelled = 2;
        private int _state;
        public ConsumeContext<TMessage> Context { get; } = context;
        public bool Alone { get; } = alone;
        public Activity? Activity { get; } = activity;
        public DateTime Received { get; } = DateTime.UtcNow;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>For a worker: false when the message was cancelled while it waited (it is no longer anyone's).</summary>
        public bool Take() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        /// <summary>
        /// A stopping bus cancels a message that is still waiting (it goes back to its queue); one already taken stays
        /// until its batch is done, so its delivery is never returned while its batch may still commit it.
        /// </summary>
        public void Cancel()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued) Done.TrySetCanceled(Context.CancellationToken);
        }
    }

    public BatchFormer(IServiceScopeFactory scopes, int messageLimit, int concurrency)
    {
        _scopes = scopes;
        _messageLimit = messageLimit;
        _concurrency = concurrency;
        StartWorkers();
    }

    /// <summary>Messages received and waiting for a batch worker to come free.</summary>
    public int Waiting => _waiting.Reader.Count;

    public async Task Join(ConsumeContext<TMessage> context)
    {
        var member = new Member(context, context.GetRetryAttempt() > 0, Activity.Current);
        await using var cancellation = context.CancellationToken.Register(member.Cancel);
        if (!_waiting.Writer.TryWrite(member)) throw new InvalidOperationException("the batch queue is closed");
        await member.Done.Task.ConfigureAwait(false);
    }

    private void StartWorkers()
    {
        // The workers live as long as the process (the former is a singleton, made when the first message arrives); they
        // must not carry that message's trace or log scope.
        var flow = ExecutionContext.IsFlowSuppressed() ? (AsyncFlowControl?)null : ExecutionContext.SuppressFlow();
        try
        {
            for (var i = 0; i < _concurrency; i++) _ = Task.Run(Work);
        }
        finally
        {
            flow?.Undo();
        }
    }

    private async Task Work()
    {
        var reader = _waiting.Reader;
        var batch = new List<Member>(_messageLimit);
        Member? carried = null;
        while (true)
        {
            if (carried is null && !await reader.WaitToReadAsync().ConfigureAwait(false)) return;
            if (carried is not null) batch.Add(carried);
            carried = null;
            while (batch.Count < _messageLimit && !(batch.Count == 1 && batch[0].Alone) && reader.TryRead(out var next))
            {
                if (!next.Take()) continue;
                if (next.Alone && batch.Count > 0)
                {
                    carried = next;
                    break;
                }
                batch.Add(next);
            }
            if (batch.Count == 0) continue;
            try
            {
                await Consume(batch).ConfigureAwait(false);
                foreach (var m in batch) m.Done.TrySetResult();
            }
            catch (PermanentFailureException e) when (batch.Count > 1)
            {
                // Permanent for one message, not for its neighbours: each is retried alone, and only the one it belongs
                // to fails permanently then. Not as the inner exception: the retry policy looks through to the innermost.
                var again = new InvalidOperationException($"a batch of {batch.Count} failed, permanently for one of its messages ({e.Message}); each is retried alone");
                foreach (var m in batch) m.Done.TrySetException(again);
            }
            catch (Exception e)
            {
                foreach (var m in batch) m.Done.TrySetException(e);
            }
            // An idle worker keeps no message alive.
            batch.Clear();
        }
    }

    private async Task Consume(List<Member> batch)
    {
        // The batch runs in the trace of its last message, as MassTransit's batches do (each message's own span is the consumer's).
        Activity.Current = batch[^1].Activity;
        await using var scope = _scopes.CreateAsyncScope();
        var consumer = scope.ServiceProvider.GetRequiredService<TConsumer>();
        var contexts = batch.Select(m => m.Context).ToArray();
        var mode = contexts.Length == _messageLimit ? BatchCompletionMode.Size : BatchCompletionMode.Time;
        var messages = new MessageBatch<TMessage>(batch[0].Received, batch[^1].Received, mode, contexts);
        await consumer.Consume(new BatchConsumeContext<TMessage>(contexts[^1], messages)).ConfigureAwait(false);
    }
}
