using Microsoft.Extensions.Configuration;

namespace DataExchange.ServiceDefaults;

/// <summary>Where a service finds its servers: PostgreSQL, RabbitMQ, and how many messages it prefetches.</summary>
public sealed record ServiceSettings(string Service, string Postgres, string RabbitMq, ushort Prefetch)
{
    public static ServiceSettings From(IConfiguration configuration, string service)
    {
        var postgres = configuration.GetConnectionString("Postgres") ?? configuration["DX_POSTGRES"]
            ?? throw new InvalidOperationException("ConnectionStrings:Postgres (or DX_POSTGRES) is not set.");
        var rabbit = configuration.GetConnectionString("RabbitMq") ?? configuration["DX_RABBITMQ"]
            ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq (or DX_RABBITMQ) is not set.");
        return new ServiceSettings(service, postgres, rabbit, configuration.GetValue<ushort>("Bus:Prefetch", 64));
    }
}
