using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Watch;

/// <summary>
/// Where a watch writes its lines: stdout, or with <c>--output FILE</c> appended to a file that is also its memory. A
/// restarted subscriber (even after kill -9) reads the file back: a line already in it is not written again, and its
/// catch-up resumes after the last cursor in it. Each line is written and flushed before the message is acknowledged,
/// so a line is in the file or still on its way (queue or log), never lost and never written twice.
/// </summary>
internal sealed partial class WatchOutput : IDisposable
{
    private readonly TextWriter _writer;
    private readonly bool _owned;

    private WatchOutput(TextWriter writer, bool owned, IReadOnlyList<string> existing)
    {
        _writer = writer;
        _owned = owned;
        Existing = existing;
        LastCursor = existing.Select(l => CursorPattern().Match(l)).Where(m => m.Success)
            .Select(m => (long?)long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(null).Max();
    }

    /// <summary>The complete lines already in the output file (none for stdout).</summary>
    public IReadOnlyList<string> Existing { get; }

    /// <summary>The largest cursor among them, or null.</summary>
    public long? LastCursor { get; }

    public static WatchOutput Open(string? path, TextWriter stdout)
    {
        if (path is null) return new WatchOutput(stdout, false, []);
        var existing = new List<string>();
        var endsWithNewline = true;
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path);
            endsWithNewline = text.Length == 0 || text[^1] == '\n';
            var lines = text.Split('\n');
            // A last line without its newline was cut short by a kill: not a line (it is written again if it comes again).
            existing.AddRange(lines.Take(lines.Length - 1).Where(l => l.Length > 0));
        }
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        if (!endsWithNewline) writer.Write('\n');
        return new WatchOutput(writer, true, existing);
    }

    public void WriteLine(string line)
    {
        _writer.WriteLine(line);
        _writer.Flush();
    }

    public void Dispose()
    {
        if (_owned) _writer.Dispose();
    }

    [GeneratedRegex(@"  cursor (\d+)$")]
    private static partial Regex CursorPattern();
}

/// <summary>
/// What <c>dx watch payouts</c> and <c>dx watch results</c> share: the bus subscription (a participant's own durable queue
/// with its own account, else the operator's temporary queue bound to the deliveries), Ctrl+C and SIGTERM, subscribe
/// first and then catch up, and the resume point at the end.
/// </summary>
internal static class WatchSession
{
    /// <summary>The participant id of a participant account in this role ("seller.ID" / "buyer.ID"), else null (the operator).</summary>
    public static string? Participant(string rabbit, string role)
    {
        var account = Uri.UnescapeDataString(new Uri(rabbit).UserInfo.Split(':')[0]);
        return account.StartsWith(role + ".", StringComparison.Ordinal) ? account[(role.Length + 1)..] : null;
    }

    /// <summary>
    /// Whose deliveries a watch shows: the participant whose own account connects (it sees only its own business), or
    /// the id given with <paramref name="option"/> on the operator's account (null: every participant of the role).
    /// </summary>
    public static (string? Participant, string? Id) Whose(string? id, string rabbit, string role, string option, string what)
    {
        var participant = Participant(rabbit, role);
        if (participant is not null && id is not null && id != participant)
            throw new UsageException($"{option}: this account is {role} '{participant}', which sees only its own {what}");
        return (participant, id ?? participant);
    }

    /// <param name="role">"seller" or "buyer".</param>
    /// <param name="participant">The participant's own id when the account is its own (reads its durable queue).</param>
    /// <param name="id">Only this participant's deliveries (operator), or null for all of the role.</param>
    public static IBusControl Bus(string rabbit, string role, string? participant, string? id, Action<IRabbitMqReceiveEndpointConfigurator> handlers) =>
        MarketBus.Create(rabbit, participant is not null ? new MarketBus.OwnQueue(role, participant)
            : new MarketBus.Deliveries(id is null ? role + ".#" : ParticipantBus.RoutingKey(role, id)), handlers);

    /// <summary>
    /// Starts the bus, then catches up (subscribed first: a line settled in between is in one or both, never in neither),
    /// says it is watching, and waits for Ctrl+C, SIGTERM, <paramref name="stop"/> or <paramref name="ct"/>.
    /// </summary>
    public static async Task RunAsync(IBusControl bus, string rabbit, Func<CancellationToken, Task>? catchUp, string watching,
        CancellationTokenSource stop, TextWriter stderr)
    {
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        try
        {
            await BusReachability.CheckAsync(rabbit, TimeSpan.FromSeconds(10), stop.Token);
            await bus.StartAsync(stop.Token);
            if (catchUp is not null) await catchUp(stop.Token);
            stderr.WriteLine($"dx: watching {watching} on {new Uri(rabbit).Host} (Ctrl+C to stop)");
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl+C, --count reached, or the caller's token.
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Where to resume: past the lines after <paramref name="cursor"/> that were already shown (heard live), up to the
    /// first one that was not. One short read at the end of a watch; on failure the cursor as it is (the lines after it
    /// are shown again on resume unless an --output file remembers them).
    /// </summary>
    public static async Task<long> ResumePointAsync<T>(Func<long, CancellationToken, IAsyncEnumerable<T>> after, Func<T, (long Cursor, bool Shown)> seen,
        long cursor)
    {
        using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await foreach (var line in after(cursor, brief.Token))
            {
                var (c, shown) = seen(line);
                if (!shown) break;
                cursor = c;
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or MarketRefusedException)
        {
        }
        return cursor;
    }
}
