using System.CommandLine;
using System.Globalization;
using DataExchange.Participants;

namespace DataExchange.Cli.Watch;

/// <summary>
/// What every watch starts with: whose deliveries it shows (a participant's own queue, or the operator's view of one or
/// all), where its lines go (stdout or a file it resumes from), the catch-up it was asked for, and the line count after
/// which it stops.
/// </summary>
internal sealed class WatchRun : IDisposable
{
    private readonly int _count;

    private WatchRun(ParseResult r, WatchOptions o, string role, string option, string what, CancellationToken ct)
    {
        Stderr = r.Err();
        Rabbit = r.RabbitMqOf(o.RabbitMq);
        (Participant, Id) = WatchSession.Whose(r.GetValue(o.Id), Rabbit, role, option, what);
        _count = r.GetValue(o.Count);
        Output = WatchOutput.Open(r.GetValue(o.Output), r.Out());
        CatchUp = CatchUpOptions.Parse(r, o, role == "seller" ? ParticipantRole.Seller : ParticipantRole.Buyer, Id, Output.LastCursor);
        Stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
    }

    public static WatchRun Start(ParseResult r, WatchOptions o, string role, string option, string what, CancellationToken ct) =>
        new(r, o, role, option, what, ct);

    public TextWriter Stderr { get; }
    public string Rabbit { get; }
    /// <summary>The participant whose own queue is read, or null for the operator.</summary>
    public string? Participant { get; }
    /// <summary>The seller or buyer watched (the participant itself, or the operator's --seller/--buyer), or null for all.</summary>
    public string? Id { get; }
    public WatchOutput Output { get; }
    public CatchUpOptions? CatchUp { get; }
    /// <summary>Cancelled at Ctrl+C or once --count lines are printed.</summary>
    public CancellationTokenSource Stop { get; }
    public int Printed { get; private set; }

    /// <summary>Prints a line stamped with its time; false (nothing printed) once --count lines were.</summary>
    public bool Print(DateTimeOffset at, FormattableString rest)
    {
        if (_count > 0 && Printed >= _count) return false;
        var time = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        Output.WriteLine(time + "  " + rest.ToString(CultureInfo.InvariantCulture));
        if (++Printed == _count) Stop.Cancel();
        return true;
    }

    /// <summary>The time a live message was sent (the broker's header), else now.</summary>
    public static DateTimeOffset HeardAt(MassTransit.ConsumeContext context) =>
        new((context.SentTime ?? DateTime.UtcNow).ToUniversalTime(), TimeSpan.Zero);

    public void Dispose()
    {
        Stop.Dispose();
        Output.Dispose();
    }
}
