using MassTransit;

namespace DataExchange.ServiceDefaults;

/// <summary>How the services batch: many messages per transaction is what keeps the database from being the bottleneck.</summary>
public static class MarketBatches
{
    /// <summary>
    /// How long a partial batch waits for more messages. Batches form from the load itself: what arrived (and was
    /// prefetched) while the previous batch worked is taken at once, so a lone task does not wait and a burst still
    /// fills its batches. (A fixed 20 ms window had cost every hop of a lone task 20 ms.)
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromMilliseconds(1);

    /// <summary>Batch options for a consumer of <c>Batch&lt;T&gt;</c>: up to 32 messages or TimeLimit, whichever first, two batches at a time.</summary>
    public static void Configure(BatchOptions o) => Configure(o, messageLimit: 32, concurrency: 2);

    public static void Configure(BatchOptions o, int messageLimit, int concurrency) =>
        o.SetMessageLimit(messageLimit).SetTimeLimit(TimeLimit).SetConcurrencyLimit(concurrency);
}
