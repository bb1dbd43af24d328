using DataExchange.Contracts;
using DataExchange.Ingestion.Sellers;
using DataExchange.Mechanism;
using DataExchange.ServiceDefaults;
using Marten;
using MassTransit;

namespace DataExchange.Ingestion.Tasks;

public enum SubmitOutcome { Accepted, Duplicate, Rejected }

public sealed record SubmitResult(SubmitOutcome Outcome, Guid TaskId, InputProblem? Problem = null);

/// <summary>
/// Accepts or refuses a buyer's task. Accepted: TaskSubmitted records the bid, the target, the window, the sellers
/// whose data covers it (in id order); the market draws the task's randomness later, when it quotes. Refused: TaskRejected names the field and the reason. Either way
/// the task's stream is started, so the same TaskId sent again is recognised and changes nothing.
/// </summary>
public sealed class SubmitTaskHandler(IDocumentSession session)
{
    /// <summary>One task, e.g. from HTTP: its events record the current trace (the request's).</summary>
    public async Task<SubmitResult> Handle(SubmitPredictionTask task, CancellationToken ct) => (await HandleMany([(task, null, null)], ct))[0];

    /// <summary>
    /// Decides a batch of tasks in one transaction (one read of the sellers, one commit). Each task's events record the
    /// trace its own message arrived with.
    /// </summary>
    /// <param name="batch">Each task, the message it came in (for its trace) and, for a task a participant sent over the bus,
    /// the buyer the broker says sent it (null for the operator's own account, or over HTTP where the key says who).</param>
    public async Task<IReadOnlyList<SubmitResult>> HandleMany(IReadOnlyList<(SubmitPredictionTask Task, ConsumeContext? Message, string? Sender)> batch,
        CancellationToken ct)
    {
        var tasks = batch.Select(b => b.Task).ToList();
        // Both reads in one round trip (a lone task waits for each). Plain SQL rather than LINQ: this runs once per batch
        // on the hot path, and all sellers are wanted anyway.
        var reads = session.CreateBatchQuery();
        var sellersRead = reads.Query<Seller>("where true");
        var knownRead = reads.LoadMany<BuyerTask>().ById(tasks.Where(t => t.TaskId != Guid.Empty).Select(t => t.TaskId.ToString()).Distinct().ToArray());
        await reads.Execute(ct);
        var sellers = await sellersRead;
        var known = (await knownRead).Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
        var results = new List<SubmitResult>(tasks.Count);
        foreach (var (task, message, sender) in batch)
        {
            if (task.TaskId != Guid.Empty && !known.Add(task.TaskId.ToString()))
            {
                results.Add(new(SubmitOutcome.Duplicate, task.TaskId));
                continue;
            }
            var (e, problem) = sender is not null && !string.Equals(sender, task.BuyerId, StringComparison.Ordinal)
                ? Impersonation(task, sender)
                : Decide(task, sellers);
            var id = task.TaskId == Guid.Empty ? Guid.NewGuid() : task.TaskId;
            using (var span = message is null ? null : TraceContext.StartFor(message, "submit task"))
                TraceContext.Stamp(session.Events.StartStream<BuyerTask>(id.ToString(), e).Events, TraceContext.Current(message));
            results.Add(new(problem is null ? SubmitOutcome.Accepted : SubmitOutcome.Rejected, id, problem));
        }
        await session.SaveChangesAsync(ct);
        return results;
    }

    /// <summary>A task in another buyer's name: refused, and the refusal goes to the buyer who sent it.</summary>
    private static (object Event, InputProblem? Problem) Impersonation(SubmitPredictionTask task, string sender)
    {
        var problem = new InputProblem("buyerId", $"is '{task.BuyerId}', but the task was sent by buyer '{sender}'; a buyer submits only in its own name");
        return (new TaskRejected(task.TaskId, sender, problem.Field, problem.Reason, DateTimeOffset.UtcNow), problem);
    }

    private static (object Event, InputProblem? Problem) Decide(SubmitPredictionTask task, IReadOnlyList<Seller> sellers)
    {
        var problem = Validation.Task(task);
        if (problem is null)
        {
            var end = task.FromStep + task.Target.Length;
            var ids = sellers.Where(s => s.Steps >= end).Select(s => s.Id).Order(StringComparer.Ordinal).ToArray();
            if (ids.Length > 0)
                return (new TaskSubmitted(task.TaskId, task.MarketId ?? MarketLimits.DefaultMarket, task.BuyerId, task.Bid, task.Target,
                    task.FromStep, ids, DateTimeOffset.UtcNow, task.Kind == TaskKinds.Classification ? TaskKinds.Classification : null), null);
            problem = new InputProblem("target",
                $"covers steps {task.FromStep}..{end - 1}, but no seller has observations that far (longest series: {(sellers.Count == 0 ? 0 : sellers.Max(s => s.Steps))} steps)");
        }
        return (new TaskRejected(task.TaskId, task.BuyerId, problem.Field, problem.Reason, DateTimeOffset.UtcNow), problem);
    }

    /// <summary>Records a task that could not even be read (malformed JSON, unknown fields) when its id is known.</summary>
    public async Task<SubmitResult> Reject(Guid taskId, string? buyerId, InputProblem problem, CancellationToken ct)
    {
        if (await session.LoadAsync<BuyerTask>(taskId.ToString(), ct) is not null) return new(SubmitOutcome.Duplicate, taskId);
        TraceContext.Record(session);
        session.Events.StartStream<BuyerTask>(taskId.ToString(), new TaskRejected(taskId, buyerId, problem.Field, problem.Reason, DateTimeOffset.UtcNow));
        await session.SaveChangesAsync(ct);
        return new(SubmitOutcome.Rejected, taskId, problem);
    }
}

/// <summary>Tasks from the bus, a batch per transaction; a racing duplicate fails the batch, which is retried without it.</summary>
public sealed class SubmitPredictionTaskConsumer(SubmitTaskHandler handler) : IConsumer<Batch<SubmitPredictionTask>>
{
    public Task Consume(ConsumeContext<Batch<SubmitPredictionTask>> context) =>
        handler.HandleMany(context.Message.Select(m => (m.Message, (ConsumeContext?)m, Sender(m))).ToList(), context.CancellationToken);

    /// <summary>
    /// Who sent a task, as the broker says: the buyer whose own exchange it was published to (a participant may write
    /// to no other), or the validated user-id of a buyer's account. Null for the operator's account.
    /// </summary>
    public static string? Sender(ConsumeContext message)
    {
        if (!message.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit)) return null;
        if (ParticipantBus.BuyerOfSubmitExchange(rabbit.Exchange) is { } buyer) return buyer;
        var user = rabbit.Properties?.UserId;
        return user is not null && user.StartsWith("buyer.", StringComparison.Ordinal) ? user["buyer.".Length..] : null;
    }
}
