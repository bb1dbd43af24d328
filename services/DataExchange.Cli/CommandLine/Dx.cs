using System.CommandLine;
using System.CommandLine.Help;

namespace DataExchange.Cli;

/// <summary>
/// <c>dx</c>: the verbs (System.CommandLine), their help, and one exit code per kind of failure. A mistake on the command
/// line is one sentence naming the option (exit 2); any other failure is classified by <see cref="Failures"/>.
/// </summary>
public static class Dx
{
    public const string ExitCodes = """
        Exit codes:
          0  done                      1  dx market run: not every task settled or rejected
          2  bad command line          3  market file refused          4  dx audit: a field differs
          5  not there yet: tasks unconfirmed at --timeout (their ids on stdout; look one up with dx audit task ID
             or the catch-up endpoints), a task unknown or unsettled (audit), logs or projections not created (report)
          6  a service unreachable over HTTP (or no answer in time)
          7  the bus (RabbitMQ) unreachable   8  the event store (PostgreSQL) unreachable or failing
          9  the market refused a request (HTTP 4xx/5xx: a key, a bad value)
          70 an unexpected failure (a bug: DX_DEBUG=1 prints where)
        """;

    /// <summary>Every verb; built per call (tests run several dx invocations at once).</summary>
    public static RootCommand Commands() => (RootCommand)new RootCommand("dx: the DataExchange command line (dx VERB --help for a verb's options)").With(
        SimulateCommand.Create(),
        PayoutRulesCommand.Create(),
        new Command("market", "the market's main job against the running services").With(Market.MarketRunCommand.Create()),
        new Command("audit", "recompute settled tasks from the event log").With(Audit.AuditCommand.Create()),
        new Command("watch", "a participant's deliveries as they arrive, after a catch-up from the market's logs").With(
            Watch.WatchPayoutsCommand.Create(), Watch.WatchResultsCommand.Create()),
        new Command("report", "reports from the settlement projections and the event logs").With(Reports.ReportCommand.Create(), Reports.LatencyCommand.Create()),
        Reports.ProjectionsCommand.Create(),
        Errors.ErrorsCommand.Create(),
        Participants.ParticipantsCommand.Create());

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // "dx" alone is a usage error that shows the help; "dx help [VERB...]" is "dx [VERB...] --help".
        var usageError = args.Length == 0;
        if (usageError || args[0] == "help") args = [.. args.Skip(1), "--help"];
        var root = Commands();
        var parsed = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false, ResponseFileTokenReplacer = null });
        // Ctrl+C and SIGTERM are the watches' own business (WatchSession), not the parser's.
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            if (parsed.Action is HelpAction)
            {
                parsed.Invoke(invocation);
                if (parsed.CommandResult.Command == root) stdout.WriteLine(ExitCodes);
                return usageError ? Failures.Usage : 0;
            }
            if (parsed.UnmatchedTokens.Count > 0) throw new UsageException(Unmatched(parsed.UnmatchedTokens[0], parsed.CommandResult.Command == root));
            if (parsed.Errors.Count > 0) throw new UsageException($"{parsed.Errors[0].Message} (see dx {Path(parsed)} --help)");
            return parsed.Invoke(invocation);
        }
        catch (TasksUnconfirmedException e)
        {
            // The ids on stdout (one per line, for a script), the explanation on stderr.
            foreach (var id in e.Unconfirmed) stdout.WriteLine(id);
            return Failures.Report(e, stderr);
        }
        catch (Exception e)
        {
            // No command ends with a stack trace: each failure gets a sentence and its exit code.
            return Failures.Report(e, stderr);
        }
    }

    private static string Unmatched(string token, bool atRoot) =>
        token.StartsWith('-') ? $"{token}: unknown option (see dx help)"
        : atRoot ? $"'{token}': unknown command (see dx help)"
        : $"'{token}': unexpected argument (see dx help)";

    private static string Path(ParseResult parsed)
    {
        var names = new List<string>();
        for (var c = parsed.CommandResult; c is not null && c.Command is not RootCommand; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, c.Command.Name);
        return string.Join(" ", names);
    }
}
