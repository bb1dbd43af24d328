using DataExchange.Cli.Market;
using DataExchange.Client;
using MassTransit;
using Npgsql;
using RabbitMQ.Client.Exceptions;

namespace DataExchange.Cli;

/// <summary>
/// What <c>dx</c> says and which exit code it returns when a command fails: a sentence naming what failed and what to do,
/// never a stack trace (DX_DEBUG=1 adds it, for a bug report). The codes are listed in <c>dx help</c> and the README.
/// </summary>
public static class Failures
{
    public const int Usage = 2, MarketFileRefused = 3, NotThereYet = 5, HttpUnreachable = 6, BusUnreachable = 7,
        StoreUnreachable = 8, Refused = 9, Unexpected = 70;

    public static int Report(Exception e, TextWriter stderr)
    {
        var (code, message) = Classify(e);
        stderr.WriteLine($"dx: {message}");
        if (Environment.GetEnvironmentVariable("DX_DEBUG") == "1") stderr.WriteLine(e.ToString());
        return code;
    }

    private static (int Code, string Message) Classify(Exception e)
    {
        switch (e)
        {
            case UsageException u: return (Usage, u.Message);
            case MarketFileException m: return (MarketFileRefused, $"market file refused: {m.Message}");
            case TasksUnconfirmedException t: return (NotThereYet, t.Message);
            case MarketRefusedException r: return (Refused, $"the market refused: {r.Message}");
        }
        // The cause may be wrapped (MassTransit, tasks): the innermost known one names the failure.
        foreach (var x in Chain(e))
            switch (x)
            {
                case RabbitMqConnectionException or BrokerUnreachableException:
                    return (BusUnreachable, $"cannot reach the bus (RabbitMQ): {x.Message} ({Innermost(x)}); is it running (infra/up.sh)? Give --rabbitmq URI or DX_RABBITMQ");
                case NpgsqlException pg:
                    return (StoreUnreachable, $"the event store (PostgreSQL) failed: {(pg is PostgresException p ? p.MessageText : $"{pg.Message} ({Innermost(pg)})")}; is it running (infra/up.sh)? Give --postgres CONN or DX_POSTGRES");
                case HttpRequestException h:
                    return (HttpUnreachable, $"cannot reach a server over HTTP ({h.Message}); are the services (infra/services.sh start) or RabbitMQ's management API running? Check --ingestion, --pricing, --payout, --management or DX_*_URL");
                case TaskCanceledException { InnerException: TimeoutException }:
                    return (HttpUnreachable, "the market did not answer over HTTP in time; are the services running and not overloaded?");
            }
        return (Unexpected, $"unexpected failure ({e.GetType().Name}): {e.Message} (DX_DEBUG=1 shows where)");
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : x.InnerException)
            yield return x;
    }

    private static string Innermost(Exception e) => Chain(e).Last().Message;
}

/// <summary>
/// Some tasks were published but not heard settled (or rejected) within the timeout: the market may still settle them.
/// A TimeoutException, as before, for callers that caught that.
/// </summary>
public sealed class TasksUnconfirmedException(IReadOnlyList<Guid> unconfirmed, int total, TimeSpan timeout)
    : TimeoutException($"{unconfirmed.Count} of {total} tasks unconfirmed after {timeout.TotalSeconds:0} s (not heard settled or rejected; they may still settle). " +
        "Look one up with 'dx audit task ID' (from the event store), a buyer's GET /buyers/{id}/results?after=0 on allocation or a seller's " +
        "GET /sellers/{id}/payouts?after=0 on payout. Their ids are on stdout, one per line.")
{
    public IReadOnlyList<Guid> Unconfirmed { get; } = unconfirmed;
}
