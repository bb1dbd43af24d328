using DataExchange.Contracts;
using Marten;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DataExchange.ServiceDefaults;

/// <summary>A participant the operator revoked (its id is "role:id"), kept in every service's own schema.</summary>
public sealed class RevokedParticipant
{
    public string Id { get; set; } = "";
    public DateTimeOffset RevokedAt { get; set; }
}

/// <summary>Records a revocation and refuses the participant's key at once.</summary>
public sealed class ParticipantRevokedConsumer(IDocumentSession session, ParticipantKeys keys) : IConsumer<ParticipantRevoked>
{
    public async Task Consume(ConsumeContext<ParticipantRevoked> context)
    {
        var m = context.Message;
        keys.Revoke(m.Role, m.Id);
        session.Store(new RevokedParticipant { Id = $"{m.Role}:{m.Id}", RevokedAt = m.RevokedAt });
        await session.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>Loads the revocations recorded before this process started.</summary>
internal sealed class RevocationLoader(IServiceProvider services, ParticipantKeys keys) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var session = scope.ServiceProvider.GetRequiredService<IQuerySession>();
        foreach (var r in await session.Query<RevokedParticipant>().ToListAsync(cancellationToken))
        {
            var colon = r.Id.IndexOf(':');
            if (colon > 0) keys.Revoke(r.Id[..colon], r.Id[(colon + 1)..]);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
