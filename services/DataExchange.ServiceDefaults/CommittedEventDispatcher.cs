using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using JasperFx.Events;
using Marten;
using Marten.Services;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// Publishes a transaction's events as soon as it commits, so a task moves on to the next service at once instead of
/// waiting for the outbox subscription to poll (which had made one task take about 2 s through four services at rest).
/// The subscription (<see cref="EventForwarder"/>) stays the guarantee: it sees every committed event that has a message,
/// skips those this process published, waits for those still in flight, and publishes the rest (a failed publish, a
/// crash between commit and publish, another instance's events): at least once, and in the normal case exactly once.
/// </summary>
/// <remarks>
/// The events are registered before the commit, not after it: the daemon can read a page in the moment between the
/// commit and <see cref="AfterCommitAsync"/>, and then published it a second time (seen in ParticipantTests, where a seller
/// received every payment line twice).
/// </remarks>
public sealed class CommittedEventDispatcher : DocumentSessionListenerBase
{
    // Bounds memory when this instance is not the one running the subscription (hot/cold daemon), and for saves that
    // never committed: beyond this many, the oldest entries are dropped (the subscription then publishes those events
    // again if they were committed, which consumers ignore).
    private const int MaxTracked = 200_000;

    // How long the subscription waits for a publish registered before a commit to start: a commit whose listener was
    // never called must not stall the outbox.
    private static readonly TimeSpan StartWait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<bool>> _published = new();
    private readonly ConcurrentQueue<Guid> _order = new();
    private readonly ConditionalWeakTable<IDocumentSession, TaskCompletionSource<bool>> _saving = new();
    private IBus? _bus;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Set once the bus has started; until then committed events are left to the subscription.</summary>
    public void Attach(IBus bus, ILogger logger)
    {
        _logger = logger;
        _bus = bus;
    }

    public override Task BeforeSaveChangesAsync(IDocumentSession session, CancellationToken token)
    {
        if (_bus is null) return Task.CompletedTask;
        // A save of this session that failed before (a retried conflict) left its entry unfinished: its events never committed.
        if (_saving.TryGetValue(session, out var failed))
        {
            failed.TrySetResult(false);
            _saving.Remove(session);
        }
        var saving = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var any = false;
        foreach (var stream in session.PendingChanges.Streams())
            foreach (var e in stream.Events)
            {
                if (!BusMessages.IsPublished(e)) continue;
                _published[e.Id] = saving;
                _order.Enqueue(e.Id);
                any = true;
            }
        if (any) _saving.AddOrUpdate(session, saving);
        while (_order.Count > MaxTracked && _order.TryDequeue(out var old))
            if (_published.TryRemove(old, out var dropped)) dropped.TrySetResult(false);
        return Task.CompletedTask;
    }

    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        // Not registered before the commit (the bus attached in between): the subscription publishes these.
        if (_bus is not { } bus || !_saving.TryGetValue(session, out var saving)) return Task.CompletedTask;
        _saving.Remove(session);
        // Registered only when the commit has something to publish; PublishOnce passes over the events it has none for.
        var events = commit.GetEvents().ToList();
        // One publish for the whole commit (a settlement batch's payment lines go to each seller as one message).
        _ = PublishAsync(bus, events, saving);
        return Task.CompletedTask;
    }

    private async Task PublishAsync(IBus bus, IReadOnlyList<IEvent> events, TaskCompletionSource<bool> saving)
    {
        try
        {
            await EventForwarder.PublishOnce(bus, events, CancellationToken.None);
            saving.TrySetResult(true);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Publishing {Count} events at commit failed; the outbox subscription will publish them", events.Count);
            saving.TrySetResult(false);
        }
    }

    /// <summary>Whether this process already published the event (waiting for a publish still in flight); forgets it.</summary>
    public async Task<bool> TakePublishedAsync(Guid eventId)
    {
        if (!_published.TryRemove(eventId, out var publish)) return false;
        try
        {
            return await publish.Task.WaitAsync(StartWait);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}

/// <summary>Hands the started bus to the dispatcher (registered after MassTransit's host, so it starts after the bus).</summary>
internal sealed class DispatcherAttachment(IBus bus, CommittedEventDispatcher dispatcher, ILogger<CommittedEventDispatcher> logger)
    : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        dispatcher.Attach(bus, logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
