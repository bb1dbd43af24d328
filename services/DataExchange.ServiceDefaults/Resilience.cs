using Polly;
using Polly.Retry;

namespace DataExchange.ServiceDefaults;

/// <summary>Polly pipelines shared by the services.</summary>
public static class Resilience
{
    /// <summary>
    /// Retries an optimistic-concurrency conflict on a stream (a second instance wrote first): re-read and try again,
    /// with jittered backoff so competing writers spread out.
    /// </summary>
    public static ResiliencePipeline ConcurrencyRetry() => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<JasperFx.ConcurrencyException>(),
            MaxRetryAttempts = 20,
            Delay = TimeSpan.FromMilliseconds(5),
            BackoffType = DelayBackoffType.Exponential,
            MaxDelay = TimeSpan.FromMilliseconds(500),
            UseJitter = true,
        })
        .Build();
}

/// <summary>A message that no retry can fix (it names the reason); it goes straight to the endpoint's error queue.</summary>
public sealed class PermanentFailureException(string message) : Exception(message);

/// <summary>Recognises Marten's refusal to start a stream that exists: the idempotency check of every consumer.</summary>
public static class StreamCollision
{
    public static bool Is(Exception e) => e is JasperFx.Events.ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException
        || (e.InnerException is { } inner && Is(inner));
}
