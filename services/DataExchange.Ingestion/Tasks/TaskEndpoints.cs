using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Ingestion.Sellers;
using DataExchange.Participants;
using Marten;
using Microsoft.AspNetCore.Authorization;

namespace DataExchange.Ingestion.Tasks;

/// <summary>HTTP: the same commands as the bus, answered at once (202 accepted, 200 duplicate, 400 problem details).</summary>
public static class TaskEndpoints
{
    /// <summary>Largest request body accepted (a target of MaxSeriesLength numbers fits well within it).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static void MapTaskEndpoints(this WebApplication app)
    {
        app.MapPost("/tasks", async (HttpRequest request, SubmitTaskHandler handler, IAuthorizationService authorization, CancellationToken ct) =>
        {
            var (task, problem) = await Read<SubmitPredictionTask>(request, ct);
            if (task is null)
            {
                // Unreadable: record the refusal when the body at least names its task, so the buyer hears of it on the bus.
                var id = TryTaskId(problem!.Body);
                if (id != Guid.Empty) await handler.Reject(id, null, problem.Problem, ct);
                return Problem(problem.Problem);
            }
            // Policy buyer let any buyer in; the body names whom the task is for, and that must be the caller.
            if (!await authorization.IsOwnAsync(request.HttpContext.User, task.BuyerId, ParticipantPolicies.OwnBuyer)) return Results.Forbid();
            var result = await handler.Handle(task, ct);
            return result.Outcome switch
            {
                SubmitOutcome.Accepted => Results.Accepted($"/tasks/{result.TaskId}", new { taskId = result.TaskId, status = "submitted" }),
                SubmitOutcome.Duplicate => Results.Ok(new { taskId = result.TaskId, status = "duplicate" }),
                _ => Problem(result.Problem!),
            };
        }).WithName("SubmitPredictionTask").WithSummary("Submit a buyer's prediction task").Produces(202).ProducesProblem(400)
            .RequireAuthorization(ParticipantPolicies.Buyer);

        // A buyer sees only its own tasks: another buyer's task answers 404, as if it did not exist.
        app.MapGet("/tasks/{taskId:guid}", async (Guid taskId, HttpContext http, IQuerySession session, CancellationToken ct) =>
            await session.LoadAsync<BuyerTask>(taskId.ToString(), ct) is { } t && t.BuyerId == http.User.ParticipantId() ? Results.Ok(t) : Results.NotFound())
            .WithName("GetTaskStatus").WithSummary("Whether a task was accepted or refused, and why").RequireAuthorization(ParticipantPolicies.Buyer);
    }

    public static void MapSellerEndpoints(this WebApplication app)
    {
        app.MapPost("/sellers", async (HttpRequest request, SellerCommands commands, IAuthorizationService authorization, CancellationToken ct) =>
        {
            var (c, problem) = await Read<RegisterSeller>(request, ct);
            if (c is null) return Problem(problem!.Problem);
            if (!await authorization.IsOwnAsync(request.HttpContext.User, c.SellerId, ParticipantPolicies.OwnSeller)) return Results.Forbid();
            var r = await commands.Register(c, ct);
            return Answer(r, $"/sellers/{c.SellerId}");
        }).WithName("RegisterSeller").WithSummary("Register a seller").RequireAuthorization(ParticipantPolicies.Seller);

        app.MapPost("/sellers/{sellerId}/observations", async (string sellerId, HttpRequest request, SellerCommands commands, CancellationToken ct) =>
        {
            var (batch, problem) = await Read<ObservationBatch>(request, ct);
            if (batch is null) return Problem(problem!.Problem);
            var r = await commands.Append(new AppendFeatureObservations(sellerId, batch.FromStep, batch.Values), false, ct);
            return Answer(r, $"/sellers/{sellerId}");
        }).WithName("AppendFeatureObservations").WithSummary("Append observations to a seller's series").RequireAuthorization(ParticipantPolicies.OwnSeller);
    }

    /// <summary>Body of POST /sellers/{id}/observations.</summary>
    public sealed record ObservationBatch(long FromStep, double[] Values);

    private static IResult Answer(SellerCommandResult r, string location) => r.Outcome switch
    {
        CommandOutcome.Recorded => Results.Created(location, null),
        CommandOutcome.Duplicate => Results.Ok(new { status = "duplicate" }),
        CommandOutcome.UnknownSeller => Results.Problem(title: "Unknown seller", detail: $"{r.Problem!.Field}: {r.Problem.Reason}", statusCode: 404),
        _ => Problem(r.Problem!),
    };

    private static IResult Problem(InputProblem p) => Results.ValidationProblem(
        new Dictionary<string, string[]> { [p.Field] = [p.Reason] }, detail: $"{p.Field}: {p.Reason}", title: "The request was refused");

    private sealed record Unreadable(InputProblem Problem, JsonDocument? Body);

    private static async Task<(T? Value, Unreadable? Problem)> Read<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
            return (null, new(new("body", $"is {request.ContentLength} bytes, at most {MaxBodyBytes} are accepted"), null));
        using var buffer = new MemoryStream();
        var read = 0L;
        var chunk = new byte[81920];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            read += n;
            if (read > MaxBodyBytes) return (null, new(new("body", $"is over {MaxBodyBytes} bytes, the limit"), null));
            buffer.Write(chunk, 0, n);
        }
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException e)
        {
            return (null, new(new("body", $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})"), null));
        }
        try
        {
            var value = doc.Deserialize<T>(Json);
            if (value is null) return (null, new(new("body", "is empty (null)"), doc));
            return (value, null);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            var reason = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "contains a field this request does not have: " + e.Message.Split('\'').ElementAtOrDefault(1)
                : "has a value of the wrong type";
            return (null, new(new(field, reason), doc));
        }
    }

    private static Guid TryTaskId(JsonDocument? body)
    {
        if (body?.RootElement.ValueKind == JsonValueKind.Object)
            foreach (var p in body.RootElement.EnumerateObject())
                if (string.Equals(p.Name, "taskId", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String
                    && Guid.TryParse(p.Value.GetString(), out var id))
                    return id;
        return Guid.Empty;
    }
}
