using Marten;
using Marten.Services.BatchQuerying;
using MassTransit;

namespace DataExchange.Idempotency;

/// <summary>The idempotency check of the consumers: which tasks of a batch have not been done yet (one query).</summary>
public static class TaskMarkers
{
    /// <summary>
    /// The tasks of a batch of messages still to be done. A batch of first deliveries is not checked: the check is a
    /// round trip that a lone task waits for at every hop, and a task done before cannot be done again anyway, since
    /// starting its stream and inserting its marker a second time fail the commit (StreamCollision); the batch's
    /// messages are then retried alone, and a retried or redelivered message (the broker's, after a crash) is checked.
    /// </summary>
    public static async Task<HashSet<Guid>> ToDoAsync<T, TMessage>(IQuerySession session, IReadOnlyList<ConsumeContext<TMessage>> messages,
        Func<TMessage, Guid> taskId, CancellationToken ct) where T : class, ITaskMarker where TMessage : class
    {
        var ids = messages.Select(m => taskId(m.Message));
        return messages.All(FirstDelivery) ? ids.ToHashSet() : await FreshAsync<T>(session, ids, ct);
    }

    /// <summary>A message neither retried by this process nor redelivered by the broker.</summary>
    private static bool FirstDelivery(ConsumeContext message) => message.GetRetryAttempt() == 0 && !message.ReceiveContext.Redelivered;

    /// <summary>The ids, deduplicated (a redelivery can put one task twice in a batch), minus those already marked.</summary>
    public static async Task<HashSet<Guid>> FreshAsync<T>(IQuerySession session, IEnumerable<Guid> ids, CancellationToken ct) where T : class, ITaskMarker
    {
        var batch = session.CreateBatchQuery();
        var fresh = Fresh<T>(batch, ids);
        await batch.Execute(ct);
        return await fresh;
    }

    /// <summary>
    /// The same check as part of a batch query, so that it shares one round trip to the database with the batch's other
    /// reads (a hop of a lone task waits for each round trip); the result is there once the batch has executed.
    /// </summary>
    public static async Task<HashSet<Guid>> Fresh<T>(IBatchedQuery batch, IEnumerable<Guid> ids) where T : class, ITaskMarker
    {
        var all = ids.Distinct().ToList();
        var seen = await batch.LoadMany<T>().ById(all.Select(i => i.ToString()).ToArray());
        var done = seen.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        return all.Where(i => !done.Contains(i.ToString())).ToHashSet();
    }
}
