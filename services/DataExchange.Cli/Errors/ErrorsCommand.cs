using System.CommandLine;
using System.Globalization;

namespace DataExchange.Cli.Errors;

/// <summary><c>dx errors list</c> and <c>dx errors replay</c>: poison messages, and sending them back once fixed.</summary>
public static class ErrorsCommand
{
    public static Command Create()
    {
        var show = Opt.Int("--show", 3, 0, 100, "the first N faults of each queue");
        var (listRabbit, listManagement) = (ServerOptions.RabbitMq(), Management());
        var list = new Command("list", "list the error queues (poison messages) with the first N faults of each").With(show, listRabbit, listManagement);
        list.SetAction(r =>
        {
            using var errors = new ErrorQueues(r.RabbitMqOf(listRabbit), r.GetValue(listManagement));
            var queues = errors.ListAsync(r.GetValue(show), CancellationToken.None).GetAwaiter().GetResult();
            if (queues.Count == 0) r.Out().WriteLine("no error queues");
            foreach (var q in queues)
            {
                r.Out().WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-48} {1,6} message(s)  (from {2})", q.Name, q.Messages, q.SourceQueue));
                foreach (var m in q.Sample) r.Out().WriteLine($"    {m.MessageType}: {m.ExceptionType}: {m.Reason}");
            }
            return 0;
        });
        var queue = Opt.Text("--queue", "Q", "the error queue to replay");
        var all = Opt.Flag("--all", "every error queue with messages");
        var (replayRabbit, replayManagement) = (ServerOptions.RabbitMq(), Management());
        var replay = new Command("replay", "move parked messages back to the queue they came from (once the cause is fixed)")
            .With(queue, all, replayRabbit, replayManagement);
        replay.SetAction(r =>
        {
            var (name, every) = (r.GetValue(queue), r.GetValue(all));
            if (name is null && !every) throw new UsageException("replay: name a --queue or say --all");
            using var errors = new ErrorQueues(r.RabbitMqOf(replayRabbit), r.GetValue(replayManagement));
            // Replaying one named queue needs only AMQP; listing needs the management API.
            var targets = every
                ? errors.ListAsync(0, CancellationToken.None).GetAwaiter().GetResult().Where(q => q.Messages > 0).Select(q => q.Name).ToList()
                : [name!];
            foreach (var target in targets)
                r.Out().WriteLine($"{target}: moved {errors.ReplayAsync(target, CancellationToken.None).GetAwaiter().GetResult()} message(s) back to {ErrorQueues.SourceOf(target)}");
            return 0;
        });
        return new Command("errors", "the error queues (poison messages)").With(list, replay);
    }

    /// <summary>RabbitMQ's management API (the operator's console needs it to list queues and accounts).</summary>
    internal static Option<string?> Management() => Opt.Text("--management", "URL", "RabbitMQ's management API (default the URI's host, port 55673)");
}
