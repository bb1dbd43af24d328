using System.Text.Json;
using DataExchange.Contracts;
using DataExchange.Ingestion.Sellers;
using DataExchange.ServiceDefaults;
using Marten;

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
        app.MapPost("/tasks", async (HttpRequest request, SubmitTaskHandler handler, ParticipantKeys keys, CancellationToken ct) =>
        {
            var (buyer, denied) = keys.Identify(request.HttpContext, ParticipantRole.Buyer);
            if (denied is not null) return denied;
            var (task, problem) = await Read<SubmitPredictionTask>(request, ct);
            if (task is null)
            {
                // Unreadable: record the refusal when the body at least names its task, so the buyer hears of it on the bus.
                var id = TryTaskId(problem!.Body);
                if (id != Guid.Empty) await handler.Reject(id, null, problem.Problem, ct);
                return Problem(problem.Problem);
            }
            if (keys.Deny(request.HttpContext, ParticipantRole.Buyer, task.BuyerId ?? "") is { } other) return other;
            var result = await handler.Handle(task, ct);
            return result.Outcome switch
            {
                SubmitOutcome.Accepted => Results.Accepted($"/tasks/{result.TaskId}", new { taskId = result.TaskId, status = "submitted" }),
                SubmitOutcome.Duplicate => Results.Ok(new { taskId = result.TaskId, status = "duplicate" }),
                _ => Problem(result.Problem!),
            };
        }).WithName("SubmitPredictionTask").WithSummary("Submit a buyer's prediction task").Produces(202).ProducesProblem(400);

        // A buyer sees only its own tasks: another buyer's task answers 404, as if it did not exist.
        app.MapGet("/tasks/{taskId:guid}", async (Guid taskId, HttpContext http, IQuerySession session, ParticipantKeys keys, CancellationToken ct) =>
        {
            var (buyer, denied) = keys.Identify(http, ParticipantRole.Buyer);
            if (denied is not null) return denied;
            return await session.LoadAsync<BuyerTask>(taskId.ToString(), ct) is { } t && t.BuyerId == buyer!.Id ? Results.Ok(t) : Results.NotFound();
        })
            .WithName("GetTaskStatus").WithSummary("Whether a task was accepted or refused, and why");
    }

    public static void MapSellerEndpoints(this WebApplication app)
    {
        app.MapPost("/sellers", async (HttpRequest request, SellerCommands commands, ParticipantKeys keys, CancellationToken ct) =>
        {
            var (_, denied) = keys.Identify(request.HttpContext, ParticipantRole.Seller);
            if (denied is not null) return denied;
            var (c, problem) = await Read<RegisterSeller>(request, ct);
            if (c is null) return Problem(problem!.Problem);
            if (keys.Deny(request.HttpContext, ParticipantRole.Seller, c.SellerId ?? "") is { } other) return other;
            var r = await commands.Register(c, ct);
            return Answer(r, $"/sellers/{c.SellerId}");
        }).WithName("RegisterSeller").WithSummary("Register a seller");

        app.MapPost("/sellers/{sellerId}/observations", async (string sellerId, HttpRequest request, SellerCommands commands, ParticipantKeys keys, CancellationToken ct) =>
        {
            if (keys.Deny(request.HttpContext, ParticipantRole.Seller, sellerId) is { } denied) return denied;
            var (batch, problem) = await Read<ObservationBatch>(request, ct);
            if (batch is null) return Problem(problem!.Problem);
            var r = await commands.Append(new AppendFeatureObservations(sellerId, batch.FromStep, batch.Values), false, ct);
            return Answer(r, $"/sellers/{sellerId}");
        }).WithName("AppendFeatureObservations").WithSummary("Append observations to a seller's series");
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
