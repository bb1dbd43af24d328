using System.Globalization;

namespace DataExchange.Cli.Errors;

/// <summary><c>dx errors list</c> and <c>dx errors replay</c>: poison messages, and sending them back once fixed.</summary>
public static class ErrorsCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is not ("list" or "replay")) throw new UsageException("errors: say 'list' or 'replay' (see dx help)");
        var a = new Arguments(args[1..], new HashSet<string> { "--all" });
        var rabbit = RabbitMqOption.From(a);
        var management = a.String("--management");
        var queue = args[0] == "replay" ? a.String("--queue") : null;
        var all = args[0] == "replay" && a.Flag("--all");
        var sample = args[0] == "list" ? a.Int("--show", 3, 0, 100) : 0;
        a.RejectUnknown();
        using var errors = new ErrorQueues(rabbit, management);
        var ct = CancellationToken.None;
        if (args[0] == "list")
        {
            var queues = errors.ListAsync(sample, ct).GetAwaiter().GetResult();
            if (queues.Count == 0) stdout.WriteLine("no error queues");
            foreach (var q in queues)
            {
                stdout.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-48} {1,6} message(s)  (from {2})", q.Name, q.Messages, q.SourceQueue));
                foreach (var m in q.Sample) stdout.WriteLine($"    {m.MessageType}: {m.ExceptionType}: {m.Reason}");
            }
            return 0;
        }
        if (queue is null && !all) throw new UsageException("replay: name a --queue or say --all");
        // Replaying one named queue needs only AMQP; listing needs the management API.
        var targets = all
            ? errors.ListAsync(0, ct).GetAwaiter().GetResult().Where(q => q.Messages > 0).Select(q => q.Name).ToList()
            : [queue!];
        foreach (var name in targets)
            stdout.WriteLine($"{name}: moved {errors.ReplayAsync(name, ct).GetAwaiter().GetResult()} message(s) back to {ErrorQueues.SourceOf(name)}");
        return 0;
    }
}
