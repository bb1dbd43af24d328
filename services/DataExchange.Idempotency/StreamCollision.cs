namespace DataExchange.Idempotency;

/// <summary>Recognises Marten's refusal to start a stream that exists: the idempotency check of every consumer.</summary>
public static class StreamCollision
{
    public static bool Is(Exception e) => e is JasperFx.Events.ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException
        || (e.InnerException is { } inner && Is(inner));
}
