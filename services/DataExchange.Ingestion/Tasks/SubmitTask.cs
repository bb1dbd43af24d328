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
/// whose data covers it (in id order) and the seed. Refused: TaskRejected names the field and the reason. Either way
/// the task's stream is started, so the same TaskId sent again is recognised and changes nothing.
/// </summary>
public sealed class SubmitTaskHandler(IDocumentSession session)
{
    public async Task<SubmitResult> Handle(SubmitPredictionTask task, CancellationToken ct)
    {
        var problem = Validation.Task(task);
        if (problem is null)
        {
            var sellers = await session.Query<Seller>().Where(s => s.Steps >= task.FromStep + task.Target.Length).ToListAsync(ct);
            if (sellers.Count == 0)
            {
                var longest = await session.Query<Seller>().Select(s => s.Steps).ToListAsync(ct);
                problem = new InputProblem("target",
                    $"covers steps {task.FromStep}..{task.FromStep + task.Target.Length - 1}, but no seller has observations that far (longest series: {(longest.Count == 0 ? 0 : longest.Max())} steps)");
            }
            else
            {
                var ids = sellers.Select(s => s.Id).Order(StringComparer.Ordinal).ToArray();
                return await Start(task.TaskId, new TaskSubmitted(task.TaskId, task.MarketId ?? MarketLimits.DefaultMarket, task.BuyerId,
                    task.Bid, task.Target, task.FromStep, ids, task.Seed ?? TaskSeeds.TaskSeed(task.TaskId), DateTimeOffset.UtcNow), SubmitOutcome.Accepted, null, ct);
            }
        }
        var id = task.TaskId == Guid.Empty ? Guid.NewGuid() : task.TaskId;
        return await Start(id, new TaskRejected(task.TaskId, task.BuyerId, problem.Field, problem.Reason, DateTimeOffset.UtcNow), SubmitOutcome.Rejected, problem, ct);
    }

    /// <summary>Records a task that could not even be read (malformed JSON, unknown fields) when its id is known.</summary>
    public async Task<SubmitResult> Reject(Guid taskId, string? buyerId, InputProblem problem, CancellationToken ct) =>
        await Start(taskId == Guid.Empty ? Guid.NewGuid() : taskId, new TaskRejected(taskId, buyerId, problem.Field, problem.Reason, DateTimeOffset.UtcNow),
            SubmitOutcome.Rejected, problem, ct);

    private async Task<SubmitResult> Start(Guid streamId, object e, SubmitOutcome outcome, InputProblem? problem, CancellationToken ct)
    {
        var key = streamId.ToString();
        if (await session.Events.FetchStreamStateAsync(key, ct) is not null) return new(SubmitOutcome.Duplicate, streamId);
        TraceContext.Record(session);
        session.Events.StartStream<BuyerTask>(key, e);
        try
        {
            await session.SaveChangesAsync(ct);
            return new(outcome, streamId, problem);
        }
        catch (Exception ex) when (StreamCollision.Is(ex))
        {
            return new(SubmitOutcome.Duplicate, streamId);
        }
    }
}

public sealed class SubmitPredictionTaskConsumer(SubmitTaskHandler handler) : IConsumer<SubmitPredictionTask>
{
    public Task Consume(ConsumeContext<SubmitPredictionTask> context) => handler.Handle(context.Message, context.CancellationToken);
}
