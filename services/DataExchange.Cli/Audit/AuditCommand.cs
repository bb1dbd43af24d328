using System.CommandLine;

namespace DataExchange.Cli.Audit;

/// <summary>
/// <c>dx audit task ID</c>: recomputes a settled task from its recorded inputs and seeds and compares every outcome with
/// the recorded events. Exit 0 when everything agrees, 4 when a field differs, 5 when the task cannot be audited.
/// </summary>
public static class AuditCommand
{
    public const int Differs = 4, Unavailable = 5;

    public static Command Create()
    {
        var task = new Argument<Guid>("ID")
        {
            Description = "the task's id",
            CustomParser = r => Guid.TryParse(r.Tokens[0].Value, out var id) ? id : Error(r, $"'{r.Tokens[0].Value}' is not a task id (a GUID)"),
        };
        var postgres = ServerOptions.Postgres();
        var differencesOnly = Opt.Flag("--differences-only", "print only the fields that differ");
        var command = new Command("task", "recompute a settled task from its recorded inputs and seeds and compare every field (price, allocation, gain, " +
            "charge, revenue curve, predictions, payouts, retained, fee) with the recorded events: exit 0 if all agree, 4 if any differ")
            .With(task, postgres, differencesOnly);
        command.SetAction(r =>
        {
            var id = r.GetValue(task);
            try
            {
                var result = TaskAudit.RunAsync(r.PostgresOf(postgres), id).GetAwaiter().GetResult();
                result.Print(r.Out(), r.GetValue(differencesOnly));
                return result.Passed ? 0 : Differs;
            }
            catch (AuditUnavailableException e)
            {
                r.Err().WriteLine($"dx: cannot audit task {id}: {e.Message}");
                return Unavailable;
            }
        });
        return command;
    }

    private static Guid Error(System.CommandLine.Parsing.ArgumentResult r, string message)
    {
        r.AddError(message);
        return Guid.Empty;
    }
}
