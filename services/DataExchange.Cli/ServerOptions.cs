namespace DataExchange.Cli;

/// <summary>Where the CLI finds the market's database: --postgres, else DX_POSTGRES, else the local dev database.</summary>
internal static class PostgresOption
{
    public const string LocalDefault = "Host=127.0.0.1;Port=55432;Username=dx;Password=dx;Database=dataexchange";

    public static string From(Arguments a) =>
        a.String("--postgres") ?? (Environment.GetEnvironmentVariable("DX_POSTGRES") is { Length: > 0 } pg ? pg : LocalDefault);
}

/// <summary>Where the CLI finds the bus: --rabbitmq, else DX_RABBITMQ, else the local dev broker.</summary>
internal static class RabbitMqOption
{
    public const string LocalDefault = "amqp://dx:dx@127.0.0.1:55672/";

    public static string From(Arguments a) =>
        a.String("--rabbitmq") ?? (Environment.GetEnvironmentVariable("DX_RABBITMQ") is { Length: > 0 } uri ? uri : LocalDefault);
}
