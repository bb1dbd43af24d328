using DataExchange.Contracts;
using Marten;
using MassTransit;

namespace DataExchange.Participants;

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
