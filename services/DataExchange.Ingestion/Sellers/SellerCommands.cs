using DataExchange.Contracts;
using DataExchange.Idempotency;
using DataExchange.ServiceDefaults;
using Marten;
using MassTransit;
using Polly;

namespace DataExchange.Ingestion.Sellers;

/// <summary>The outcome of a seller command: recorded, already recorded (a duplicate), or refused with a reason.</summary>
public enum CommandOutcome { Recorded, Duplicate, Refused, UnknownSeller }

public sealed record SellerCommandResult(CommandOutcome Outcome, InputProblem? Problem = null);

/// <summary>Registering and appending, shared by the bus consumers and the HTTP endpoints.</summary>
public sealed class SellerCommands(IDocumentSession session, ResiliencePipeline retry)
{
    public async Task<SellerCommandResult> Register(RegisterSeller c, CancellationToken ct)
    {
        if (Validation.Id("sellerId", c.SellerId) is { } problem) return await Refuse(c.SellerId, nameof(RegisterSeller), problem, ct);
        if (await session.Events.FetchStreamStateAsync(c.SellerId, ct) is not null) return new(CommandOutcome.Duplicate);
        TraceContext.Record(session);
        session.Events.StartStream<Seller>(c.SellerId, new SellerRegistered(c.SellerId, c.Name, DateTimeOffset.UtcNow));
        try
        {
            await session.SaveChangesAsync(ct);
            return new(CommandOutcome.Recorded);
        }
        catch (Exception e) when (StreamCollision.Is(e))
        {
            return new(CommandOutcome.Duplicate);
        }
    }

    /// <param name="waitForEarlierBatches">
    /// On the bus, batches can arrive out of order: a batch that starts past the end waits (is retried) for the ones
    /// before it. Over HTTP the caller is told at once.
    /// </param>
    public async Task<SellerCommandResult> Append(AppendFeatureObservations c, bool waitForEarlierBatches, CancellationToken ct)
    {
        var problem = Validation.Id("sellerId", c.SellerId)
            ?? (c.FromStep < 0 ? new InputProblem("fromStep", $"is {c.FromStep}; it must be 0 or more") : null)
            ?? Validation.Series("values", c.Values, 1);
        if (problem is not null) return await Refuse(c.SellerId, nameof(AppendFeatureObservations), problem, ct);
        return await retry.ExecuteAsync(async token =>
        {
            var stream = await session.Events.FetchForWriting<Seller>(c.SellerId, token);
            if (stream.Aggregate is null)
                return await Refuse(c.SellerId, nameof(AppendFeatureObservations), new("sellerId", $"'{c.SellerId}' is not a registered seller"), token, CommandOutcome.UnknownSeller);
            var held = stream.Aggregate.Steps;
            if (c.FromStep + c.Values.Length <= held) return new SellerCommandResult(CommandOutcome.Duplicate);
            if (c.FromStep > held && waitForEarlierBatches)
                throw new ObservationGapException($"seller '{c.SellerId}': batch from step {c.FromStep} arrived before steps {held}..{c.FromStep - 1}");
            if (c.FromStep != held)
                return await Refuse(c.SellerId, nameof(AppendFeatureObservations), new("fromStep", $"is {c.FromStep}, but the seller's series has {held} observations: the next batch starts at {held}"), token);
            TraceContext.Record(session);
            stream.AppendOne(new FeatureObservationsAppended(c.SellerId, c.FromStep, c.Values));
            await session.SaveChangesAsync(token);
            return new SellerCommandResult(CommandOutcome.Recorded);
        }, ct);
    }

    private async Task<SellerCommandResult> Refuse(string? sellerId, string command, InputProblem problem, CancellationToken ct,
        CommandOutcome outcome = CommandOutcome.Refused)
    {
        // Refusals are events too (on a stream of their own), so the seller hears why on the bus.
        session.Events.StartStream($"refused-{Guid.NewGuid():N}",
            new SellerCommandRejected(sellerId, command, problem.Field, problem.Reason, DateTimeOffset.UtcNow));
        await session.SaveChangesAsync(ct);
        return new(outcome, problem);
    }
}

public sealed class RegisterSellerConsumer(SellerCommands commands) : IConsumer<RegisterSeller>
{
    public Task Consume(ConsumeContext<RegisterSeller> context) => commands.Register(context.Message, context.CancellationToken);
}

public sealed class AppendFeatureObservationsConsumer(SellerCommands commands) : IConsumer<AppendFeatureObservations>
{
    public Task Consume(ConsumeContext<AppendFeatureObservations> context) => commands.Append(context.Message, true, context.CancellationToken);
}

/// <summary>A batch arrived before the batches it follows; retried until they are in (or parked in the error queue).</summary>
public sealed class ObservationGapException(string message) : Exception(message);
