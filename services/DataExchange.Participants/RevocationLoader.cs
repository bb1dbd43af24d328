using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DataExchange.Participants;

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
