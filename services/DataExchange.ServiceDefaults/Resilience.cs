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
