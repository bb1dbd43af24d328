using System.CommandLine;
using System.Globalization;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch results</c>: a buyer's subscriber, as <c>dx watch payouts</c> is a seller's. One line per task the buyer
/// was charged for (time, task, buyer, market, gain, charge), from its BuyerCharged; with a buyer's own account from its
/// durable queue. <c>--since</c>/<c>--from</c> first catch up from allocation's log (GET /buyers/{id}/results), each
/// task once; <c>--output FILE</c> as for payouts.
/// </summary>
public static class WatchResultsCommand
{
    public static Command Create()
    {
        var o = new WatchOptions("buyer", "--buyer", "--allocation-url", "DX_ALLOCATION_URL", "http://127.0.0.1:5082", "allocation");
        var command = o.AddTo(new Command("results", "a buyer's results as they arrive: one line per task charged (time, task, buyer, market, gain, charge)"));
        command.SetAction((r, ct) => RunAsync(r, o, ct));
        return command;
    }

    /// <summary>The task of a line as this command prints it.</summary>
    public static Guid? KeyOf(string line)
    {
        var task = line.IndexOf("  task ", StringComparison.Ordinal);
        return task >= 0 && line.Length >= task + 43 && Guid.TryParse(line.AsSpan(task + 7, 36), out var id) ? id : null;
    }

    private static async Task<int> RunAsync(ParseResult r, WatchOptions o, CancellationToken ct)
    {
        var (stdout, stderr) = (r.Out(), r.Err());
        var rabbit = r.RabbitMqOf(o.RabbitMq);
        var (participant, buyer) = WatchSession.Whose(r.GetValue(o.Id), rabbit, "buyer", "--buyer", "results");
        var count = r.GetValue(o.Count);
        using var output = WatchOutput.Open(r.GetValue(o.Output), stdout);
        var catchUp = CatchUpOptions.Parse(r, o, ParticipantRole.Buyer, buyer, output.LastCursor);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var printed = 0;
        var merge = new ResultMerge(line =>
        {
            if (count > 0 && printed >= count) return false;
            var time = line.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{time}  task {line.TaskId}  buyer {line.BuyerId}  market {line.MarketId}  gain {line.Gain:R}  charge {line.Charge}{(line.Cursor is { } c ? $"  cursor {c}" : "")}"));
            if (++printed == count) stop.Cancel();
            return true;
        }, catchingUp: catchUp is not null);
        merge.AlreadyShown(output.Existing.Select(KeyOf).OfType<Guid>());
        var cursor = catchUp?.After ?? 0;
        var bus = WatchSession.Bus(rabbit, "buyer", participant, buyer, e => e.Handler<BuyerCharged>(async context =>
        {
            var c = context.Message;
            if (buyer is not null && !string.Equals(c.BuyerId, buyer, StringComparison.Ordinal)) return;
            merge.Live(ResultLine.Of(c, new DateTimeOffset((context.SentTime ?? DateTime.UtcNow).ToUniversalTime(), TimeSpan.Zero)));
            await merge.WhenCaughtUp.WaitAsync(context.CancellationToken);
        }));
        await WatchSession.RunAsync(bus, rabbit, catchUp is null ? null : async token =>
        {
            using var http = catchUp.Http();
            var results = new BuyerResultCatchUp(http, catchUp.Id, catchUp.Key);
            await foreach (var r in results.ResultsAsync(catchUp.After, catchUp.From, token))
            {
                merge.FromCatchUp(ResultLine.Of(catchUp.Id, r));
                if (stop.IsCancellationRequested) break;
            }
            merge.CaughtUp();
            cursor = results.Cursor;
        }, $"results{(buyer is null ? "" : $" of buyer {buyer}")}", stop, stderr);
        stderr.WriteLine($"dx: stopped watching after {printed} result(s)");
        if (catchUp is not null)
        {
            using var http = catchUp.Http();
            cursor = await WatchSession.ResumePointAsync((after, token) => new BuyerResultCatchUp(http, catchUp.Id, catchUp.Key).ResultsAsync(after, null, token),
                r => (r.Cursor, merge.WasShown(r.TaskId)), cursor);
            stderr.WriteLine($"dx: resume with --since {cursor}");
        }
        return 0;
    }
}
