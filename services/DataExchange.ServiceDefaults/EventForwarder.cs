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
/// The outbox: a Marten subscription that publishes every committed contract event of this service's store to the bus.
/// A service never publishes directly, so an event reaches the bus only once committed; the subscription's progress
/// is stored in the database, so after a crash it resumes from the last page it finished and every committed event
/// is published at least once. The message id is the event's id, and every consumer is idempotent, so a page
/// published twice changes nothing. The trace context recorded with the event (see TraceContext) is restored, so
/// the trace runs on across services.
/// </summary>
public sealed class EventForwarder(IBus bus, CommittedEventDispatcher dispatcher, ILogger<EventForwarder> logger) : SubscriptionBase
{
    // A broker that is down or restarting must not make the daemon skip or pause the page: keep trying (the page is
    // not acknowledged until every event in it is published), and let the host's shutdown cancel the wait.
    private readonly ResiliencePipeline _untilPublished = new ResiliencePipelineBuilder()
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
        // Order across a queue is not guaranteed anyway (prefetch > 1), so a page is published concurrently.
        var publishes = new List<Task>(page.Events.Count);
        foreach (var e in page.Events)
        {
            if (!IsPublished(e)) continue;
            publishes.Add(Publish(e, cancellationToken));
        }
        await Task.WhenAll(publishes);
        return NullChangeListener.Instance;
    }

    /// <summary>Which stored events go on the bus: those a service consumes, and those with something for participants.</summary>
    public static bool IsPublished(IEvent e) =>
        e.EventType.Namespace == "DataExchange.Contracts" && (MarketTopology.ConsumedEvents.Contains(e.EventType) || ParticipantDeliveries.Of(e.Data).Any());

    private async Task Publish(IEvent e, CancellationToken ct)
    {
        // Published at commit by this process (CommittedEventDispatcher): nothing left to do.
        if (await dispatcher.TakePublishedAsync(e.Id)) return;
        await _untilPublished.ExecuteAsync(async token => await PublishOnce(bus, e, token), ct);
    }

    /// <summary>
    /// One publish of a stored event: to the services that consume it (the event id as message id), and each
    /// participant's view of it to that participant (ids derived from the event id, so a re-publish repeats them).
    /// </summary>
    public static async Task PublishOnce(IBus bus, IEvent e, CancellationToken ct)
    {
        using var activity = TraceContext.Resume(e, $"forward {e.EventType.Name}");
        Guid? correlation = e.CorrelationId is { Length: > 0 } c && Guid.TryParse(c, out var parsed) ? parsed : null;
        if (MarketTopology.ConsumedEvents.Contains(e.EventType))
            await bus.Publish(e.Data, e.EventType, ctx =>
            {
                ctx.MessageId = e.Id;
                ctx.CorrelationId = correlation;
            }, ct);
        var n = 0;
        foreach (var d in ParticipantDeliveries.Of(e.Data))
        {
            var id = DerivedId(e.Id, ++n);
            var endpoint = await bus.GetSendEndpoint(ExchangeAddress(d.Exchange));
            await endpoint.Send(d.Message, d.Message.GetType(), ctx =>
            {
                ctx.MessageId = id;
                ctx.CorrelationId = correlation;
                ctx.SetRoutingKey(d.RoutingKey);
            }, ct);
        }
    }

    private static Uri ExchangeAddress(string exchange) => exchange == ParticipantBus.Deliveries
        ? new Uri($"exchange:{exchange}?type=topic")
        : new Uri($"exchange:{exchange}?type=fanout");

    /// <summary>A stable id for the n-th message made from one event.</summary>
    private static Guid DerivedId(Guid eventId, int n)
    {
        Span<byte> bytes = stackalloc byte[16];
        eventId.TryWriteBytes(bytes);
        bytes[15] ^= (byte)n;
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
