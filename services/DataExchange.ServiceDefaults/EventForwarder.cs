using DataExchange.Contracts;
using System.Diagnostics;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;
using MassTransit;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace DataExchange.ServiceDefaults;

/// <summary>
/// The outbox: a Marten subscription that publishes what the committed events of this service's store bring to the bus
/// (<see cref="BusMessages"/>).
/// A service never publishes directly, so an event reaches the bus only once committed; the subscription's progress
/// is stored in the database, so after a crash it resumes from the last page it finished and every committed event that
/// has a message is published at least once. The message id is the event's id (for participants' views, one derived
/// from it), and every consumer is idempotent, so a page published twice changes nothing. The trace context recorded
/// with the event (see TraceContext) is restored, so the trace runs on across services.
/// </summary>
public sealed class EventForwarder : SubscriptionBase
{
    private readonly IBus _bus;
    private readonly CommittedEventDispatcher _dispatcher;
    private readonly ILogger<EventForwarder> _logger;

    // A broker that is down or restarting must not make the daemon skip or pause the page: keep trying (the page is
    // not acknowledged until every event in it is published), and let the host's shutdown cancel the wait.
    private readonly ResiliencePipeline _untilPublished;

    public EventForwarder(IBus bus, CommittedEventDispatcher dispatcher, ILogger<EventForwarder> logger)
    {
        _bus = bus;
        _dispatcher = dispatcher;
        _logger = logger;
        _untilPublished = UntilPublished(logger);
        // Only the events that go on the bus are read back: a settlement's SellerPaid events (one per seller), which reach
        // the sellers through TaskSettled's lines, had been most of what the outbox read (and deserialized) in payout's log.
        foreach (var type in BusMessages.PublishedEventTypes) IncludeType(type);
    }

    private static ResiliencePipeline UntilPublished(ILogger logger) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            Delay = TimeSpan.FromMilliseconds(200),
            BackoffType = DelayBackoffType.Exponential,
            MaxDelay = TimeSpan.FromSeconds(5),
            UseJitter = true,
            OnRetry = a =>
            {
                logger.LogWarning(a.Outcome.Exception, "Publishing committed events failed (attempt {Attempt}); retrying", a.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    public override async Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller,
        IDocumentOperations operations, CancellationToken cancellationToken)
    {
        // Those this process published at commit are done; the rest (a failed publish, a crash between commit and
        // publish, another instance's events) are published here, as one group, so sellers' lines stay batched.
        var published = page.Events.Where(BusMessages.IsPublished).ToList();
        var taken = await Task.WhenAll(published.Select(e => _dispatcher.TakePublishedAsync(e.Id)));
        var rest = published.Where((_, i) => !taken[i]).ToList();
        if (rest.Count > 0)
        {
            _logger.LogInformation("Outbox: publishing {Count} committed events that were not published at commit", rest.Count);
            await _untilPublished.ExecuteAsync(async token => await PublishOnce(_bus, rest, token), cancellationToken);
        }
        return NullChangeListener.Instance;
    }

    /// <summary>
    /// One publish of stored events committed together: each to the services that consume it (the event id as message id),
    /// and participants' views of them to each participant (ids derived from the event ids, so a re-publish of the same
    /// group repeats them; a different grouping after a fault can repeat a seller's line, which the seller keeps once).
    /// Order across a queue is not guaranteed anyway (prefetch > 1), so the publishes run concurrently.
    /// </summary>
    public static Task PublishOnce(IBus bus, IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var publishes = new List<Task>(events.Count);
        foreach (var e in events)
            if (BusMessages.ForServices(e.Data) is { } message)
                publishes.Add(PublishToServices(bus, e, message, ct));
        foreach (var d in ParticipantDeliveries.OfCommitted(events))
            publishes.Add(Deliver(bus, d, ct));
        return Task.WhenAll(publishes);
    }

    private static async Task PublishToServices(IBus bus, IEvent e, object message, CancellationToken ct)
    {
        using var activity = TraceContext.Resume(e, $"forward {e.EventType.Name}");
        var correlation = CorrelationOf(e);
        await bus.Publish(message, message.GetType(), ctx =>
        {
            ctx.MessageId = e.Id;
            ctx.CorrelationId = correlation;
        }, ct);
    }

    private static async Task Deliver(IBus bus, ParticipantDeliveries.FromEvent d, CancellationToken ct)
    {
        using var activity = TraceContext.Resume(d.Source, $"deliver {d.Delivery.Message.GetType().Name}");
        var correlation = CorrelationOf(d.Source);
        var endpoint = await bus.GetSendEndpoint(ExchangeAddress(d.Delivery.Exchange));
        await endpoint.Send(d.Delivery.Message, d.Delivery.Message.GetType(), ctx =>
        {
            ctx.MessageId = DerivedId(d.Source.Id, d.N);
            ctx.CorrelationId = correlation;
            ctx.SetRoutingKey(d.Delivery.RoutingKey);
        }, ct);
    }

    private static Guid? CorrelationOf(IEvent e) =>
        e.CorrelationId is { Length: > 0 } c && Guid.TryParse(c, out var parsed) ? parsed : null;

    private static Uri ExchangeAddress(string exchange) => exchange == ParticipantBus.Deliveries
        ? new Uri($"exchange:{exchange}?type=topic")
        : new Uri($"exchange:{exchange}?type=fanout");

    /// <summary>A stable id for the n-th message made from one event.</summary>
    private static Guid DerivedId(Guid eventId, int n)
    {
        Span<byte> bytes = stackalloc byte[16];
        eventId.TryWriteBytes(bytes);
        bytes[15] ^= (byte)n;
        // A settlement gives each of its sellers a line: markets of more than 255 sellers need more than a byte (three: up to
        // 16 million, beyond any market PayoutLine's cursor allows).
        bytes[13] ^= (byte)(n >> 8);
        bytes[12] ^= (byte)(n >> 16);
        bytes[14] ^= 0x5a;
        return new Guid(bytes);
    }
}

/// <summary>
/// Carries the W3C trace context through the event store: each task's events record the trace of the message (or HTTP
/// request) that caused them, and the forwarder resumes it when it publishes them, so one trace runs from a buyer's
/// submit to TaskSettled across the services even when a consumer handles many tasks in one batch.
/// </summary>
public static class TraceContext
{
    private const string Header = "traceparent";

    /// <summary>Where MassTransit carries the sender's activity (W3C traceparent format).</summary>
    private const string BusHeader = "MT-Activity-Id";

    /// <summary>Starts a span for one message of a batch, as a child of the trace the message arrived with.</summary>
    public static Activity? StartFor(ConsumeContext message, string name)
    {
        var parent = message.Headers.Get<string>(BusHeader);
        return parent is not null && ActivityContext.TryParse(parent, null, out var context)
            ? MarketTelemetry.Source.StartActivity(name, ActivityKind.Consumer, context)
            : MarketTelemetry.Source.StartActivity(name, ActivityKind.Consumer);
    }

    /// <summary>The traceparent to record: the current span, else the one the message arrived with.</summary>
    public static string? Current(ConsumeContext? message = null) =>
        Activity.Current?.Id ?? message?.Headers.Get<string>(BusHeader);

    /// <summary>Records the current trace on every event this session appends (a session that handles one command).</summary>
    public static void Record(IDocumentSession session)
    {
        if (Activity.Current is { } a) session.SetHeader(Header, a.Id!);
    }

    /// <summary>Records the trace on these events (those of one task).</summary>
    public static void Stamp(IEnumerable<IEvent> events, string? traceparent)
    {
        if (traceparent is null) return;
        foreach (var e in events) e.SetHeader(Header, traceparent);
    }

    public static Activity? Resume(IEvent e, string name)
    {
        if (e.Headers is not null && e.Headers.TryGetValue(Header, out var value) && value?.ToString() is { } parent
            && ActivityContext.TryParse(parent, null, out var context))
            return MarketTelemetry.Source.StartActivity(name, ActivityKind.Producer, context);
        return MarketTelemetry.Source.StartActivity(name, ActivityKind.Producer);
    }
}
