using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace DataExchange.Cli;

/// <summary>
/// Opens and closes one AMQP connection before a command starts its bus: MassTransit's StartAsync keeps retrying an
/// unreachable broker without end, so without this a wrong --rabbitmq would hang instead of failing with exit code 7.
/// </summary>
internal static class BusReachability
{
    /// <summary>Throws BrokerUnreachableException (refused, unknown host, bad credentials) within about <paramref name="timeout"/>.</summary>
    public static async Task CheckAsync(string rabbitMq, TimeSpan timeout, CancellationToken ct)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(rabbitMq),
            RequestedConnectionTimeout = timeout,
            AutomaticRecoveryEnabled = false,
            ClientProvidedName = "dx reachability check",
        };
        try
        {
            await using var connection = await factory.CreateConnectionAsync(ct);
            await connection.CloseAsync(ct);
        }
        catch (BrokerUnreachableException e)
        {
            // Where, without the credentials: as MassTransit names it.
            var uri = new Uri(rabbitMq);
            throw new MassTransit.RabbitMqConnectionException($"Broker unreachable: {uri.Host}:{(uri.IsDefaultPort ? 5672 : uri.Port)}{uri.AbsolutePath}", e);
        }
    }
}
