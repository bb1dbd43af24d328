using System.CommandLine;
using System.Globalization;
using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Participants;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch payouts</c>: prints each payment line (SellerPayouts carries a settlement batch's lines) as it arrives (time, task, seller, share, amount), until Ctrl+C or
/// <c>--count</c> lines. With a seller's own account it reads that seller's durable queue; with the operator's, a
/// temporary queue of the deliveries to one seller or all. Delivery is at least once: a line already printed (same task
/// and seller) is not printed again. With <c>--since CURSOR</c> or <c>--from TIME</c> it first catches up from the payout
/// log, then goes on live; those from the log carry their cursor. With <c>--output FILE</c> the lines go to a file that
/// a restarted watch reads back (WatchOutput): each line once across restarts, even after kill -9.
/// </summary>
public static class WatchPayoutsCommand
{
    public static Command Create()
    {
        var o = new WatchOptions("seller", "--seller", "--payout", "DX_PAYOUT_URL", "http://127.0.0.1:5083", "payout");
        var command = o.AddTo(new Command("payouts", "print each payment line as it arrives on the bus (time, task, seller, share, amount); each line once"));
        command.SetAction((r, ct) => RunAsync(r, o, ct));
        return command;
    }

    /// <summary>The (task, seller) of a line as this command prints it.</summary>
    public static (Guid Task, string Seller)? KeyOf(string line)
    {
        var task = line.IndexOf("  task ", StringComparison.Ordinal);
        var seller = line.IndexOf("  seller ", StringComparison.Ordinal);
        if (task < 0 || seller < 0 || !Guid.TryParse(line.AsSpan(task + 7, 36), out var id)) return null;
        var rest = line[(seller + 9)..];
        return (id, rest[..(rest.IndexOf(' ') is var end and >= 0 ? end : rest.Length)]);
    }

    private static async Task<int> RunAsync(ParseResult r, WatchOptions o, CancellationToken ct)
    {
        using var run = WatchRun.Start(r, o, "seller", "--seller", "payouts", ct);
        var (seller, catchUp) = (run.Id, run.CatchUp);
        // Each line once, whether from the catch-up, live, or already in the output file.
        var merge = new PayoutMerge(line => run.Print(line.At,
            $"task {line.TaskId}  seller {line.SellerId}  share {line.Share:R}  amount {line.Amount}{(line.Cursor is { } c ? $"  cursor {c}" : "")}"),
            catchingUp: catchUp is not null);
        merge.AlreadyShown(run.Output.Existing.Select(KeyOf).OfType<(Guid, string)>());
        var cursor = catchUp?.After ?? 0;
        var bus = WatchSession.Bus(run.Rabbit, "seller", run.Participant, seller, e => e.Handler<SellerPayouts>(async context =>
        {
            var batch = context.Message;
            if (seller is not null && !string.Equals(batch.SellerId, seller, StringComparison.Ordinal)) return;
            foreach (var line in batch.Lines)
                if (string.Equals(line.SellerId, batch.SellerId, StringComparison.Ordinal)) merge.Live(line, WatchRun.HeardAt(context));
            // Acknowledged only once shown (a line held back during the catch-up waits for it).
            await merge.WhenCaughtUp.WaitAsync(context.CancellationToken);
        }));
        await WatchSession.RunAsync(bus, run.Rabbit, catchUp is null ? null : async token =>
        {
            using var http = catchUp.Http();
            var lines = new PayoutCatchUp(http, catchUp.Id, catchUp.Key);
            await foreach (var line in lines.LinesAsync(catchUp.After, catchUp.From, token))
            {
                merge.FromCatchUp(line);
                if (run.Stop.IsCancellationRequested) break;
            }
            merge.CaughtUp();
            cursor = lines.Cursor;
        }, $"payouts{(seller is null ? "" : $" of seller {seller}")}", run.Stop, run.Stderr);
        run.Stderr.WriteLine($"dx: stopped watching after {run.Printed} payout(s)");
        if (catchUp is not null)
        {
            using var http = catchUp.Http();
            cursor = await WatchSession.ResumePointAsync((after, token) => new PayoutCatchUp(http, catchUp.Id, catchUp.Key).LinesAsync(after, null, token),
                l => (l.Cursor, merge.WasShown(l.TaskId, l.SellerId)), cursor);
            run.Stderr.WriteLine($"dx: resume with --since {cursor}");
        }
        return 0;
    }
}
