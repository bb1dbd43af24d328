using System.Collections.Concurrent;
using JasperFx.Events;
using Marten;
using Marten.Services;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// Publishes a transaction's events as soon as it commits, so a task moves on to the next service at once instead of
/// waiting for the outbox subscription to poll (which had made one task take about 2 s through four services at rest).
/// The subscription (<see cref="EventForwarder"/>) stays the guarantee: it sees every committed event, skips those this
/// process published, waits for those still in flight, and publishes the rest (a failed publish, a crash between
/// commit and publish, another instance's events): at least once, and in the normal case exactly once.
/// </summary>
public sealed class CommittedEventDispatcher : DocumentSessionListenerBase
{
    // Bounds memory when this instance is not the one running the subscription (hot/cold daemon): entries are normally
    // removed by the subscription, and beyond this many the oldest completed ones are dropped (the subscription then
    // publishes those again, which consumers ignore).
    private const int MaxTracked = 200_000;

    private readonly ConcurrentDictionary<Guid, Task<bool>> _published = new();
    private readonly ConcurrentQueue<Guid> _order = new();
    private IBus? _bus;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Set once the bus has started; until then committed events are left to the subscription.</summary>
    public void Attach(IBus bus, ILogger logger)
    {
        _logger = logger;
        _bus = bus;
    }

    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        if (_bus is not { } bus) return Task.CompletedTask;
        foreach (var e in commit.GetEvents())
        {
            if (!EventForwarder.IsPublished(e)) continue;
            _published[e.Id] = PublishAsync(bus, e);
            _order.Enqueue(e.Id);
        }
        while (_published.Count > MaxTracked && _order.TryDequeue(out var old))
            if (_published.TryGetValue(old, out var t) && t.IsCompleted) _published.TryRemove(old, out _);
        return Task.CompletedTask;
    }

    private async Task<bool> PublishAsync(IBus bus, IEvent e)
    {
        try
        {
            await EventForwarder.PublishOnce(bus, e, CancellationToken.None);
            return true;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Publishing event {EventId} at commit failed; the outbox subscription will publish it", e.Id);
            return false;
        }
    }

    /// <summary>Whether this process already published the event (waiting for a publish still in flight); forgets it.</summary>
    public async Task<bool> TakePublishedAsync(Guid eventId) =>
        _published.TryRemove(eventId, out var publish) && await publish;
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
