using Npgsql;

namespace DataExchange.Cli;

/// <summary>
/// A read of the services' tables before any service has started (they create their schemas): the table or schema does
/// not exist, whether Npgsql throws it directly or Marten wraps it.
/// </summary>
internal static class NotCreatedYet
{
    public static PostgresException? Of(Exception e) =>
        (e as PostgresException ?? e.InnerException as PostgresException) is { SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName } pg
            ? pg
            : null;
}
