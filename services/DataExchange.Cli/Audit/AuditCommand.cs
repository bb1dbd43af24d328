namespace DataExchange.Cli.Audit;

/// <summary>
/// <c>dx audit task ID</c>: recomputes a settled task from its recorded inputs and seeds and compares every outcome with
/// the recorded events. Exit 0 when everything agrees, 4 when a field differs, 5 when the task cannot be audited.
/// </summary>
public static class AuditCommand
{
    public const int Differs = 4, Unavailable = 5;
    private static readonly HashSet<string> Flags = ["--differences-only"];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args, Flags);
        var postgres = PostgresOption.From(a);
        var differencesOnly = a.Flag("--differences-only");
        if (a.Positional.Count != 2 || a.Positional[0] != "task") throw new UsageException("usage: dx audit task ID [--postgres CONNECTION] [--differences-only]");
        if (!Guid.TryParse(a.Positional[1], out var taskId)) throw new UsageException($"'{a.Positional[1]}' is not a task id (a GUID)");
        a.Positional.Clear();
        a.RejectUnknown();
        try
        {
            var result = TaskAudit.RunAsync(postgres, taskId).GetAwaiter().GetResult();
            result.Print(stdout, differencesOnly);
            return result.Passed ? 0 : Differs;
        }
        catch (AuditUnavailableException e)
        {
            stderr.WriteLine($"dx: cannot audit task {taskId}: {e.Message}");
            return Unavailable;
        }
    }
}
