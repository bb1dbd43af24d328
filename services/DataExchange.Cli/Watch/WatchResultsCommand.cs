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
        using var run = WatchRun.Start(r, o, "buyer", "--buyer", "results", ct);
        var (buyer, catchUp) = (run.Id, run.CatchUp);
        var merge = new ResultMerge(line => run.Print(line.At,
            $"task {line.TaskId}  buyer {line.BuyerId}  market {line.MarketId}  gain {line.Gain:R}  charge {line.Charge}{(line.Cursor is { } c ? $"  cursor {c}" : "")}"),
            catchingUp: catchUp is not null);
        merge.AlreadyShown(run.Output.Existing.Select(KeyOf).OfType<Guid>());
        var cursor = catchUp?.After ?? 0;
        var bus = WatchSession.Bus(run.Rabbit, "buyer", run.Participant, buyer, e => e.Handler<BuyerCharged>(async context =>
        {
            var c = context.Message;
            if (buyer is not null && !string.Equals(c.BuyerId, buyer, StringComparison.Ordinal)) return;
            merge.Live(ResultLine.Of(c, WatchRun.HeardAt(context)));
            await merge.WhenCaughtUp.WaitAsync(context.CancellationToken);
        }));
        await WatchSession.RunAsync(bus, run.Rabbit, catchUp is null ? null : async token =>
        {
            using var http = catchUp.Http();
            var results = new BuyerResultCatchUp(http, catchUp.Id, catchUp.Key);
            await foreach (var result in results.ResultsAsync(catchUp.After, catchUp.From, token))
            {
                merge.FromCatchUp(ResultLine.Of(catchUp.Id, result));
                if (run.Stop.IsCancellationRequested) break;
            }
            merge.CaughtUp();
            cursor = results.Cursor;
        }, $"results{(buyer is null ? "" : $" of buyer {buyer}")}", run.Stop, run.Stderr);
        run.Stderr.WriteLine($"dx: stopped watching after {run.Printed} result(s)");
        if (catchUp is not null)
        {
            using var http = catchUp.Http();
            cursor = await WatchSession.ResumePointAsync((after, token) => new BuyerResultCatchUp(http, catchUp.Id, catchUp.Key).ResultsAsync(after, null, token),
                result => (result.Cursor, merge.WasShown(result.TaskId)), cursor);
            run.Stderr.WriteLine($"dx: resume with --since {cursor}");
        }
        return 0;
    }
}
