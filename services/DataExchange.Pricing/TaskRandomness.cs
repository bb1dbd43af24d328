using System.Security.Cryptography;

namespace DataExchange.Pricing;

/// <summary>
/// The market's own randomness for a task: 64 bits from the operating system's cryptographic generator, drawn when the
/// task is quoted and recorded in its TaskPriced (so a redelivery finds it and never redraws). No participant holds or
/// sends anything it depends on, so none can choose or predict a task's price, noise or permutations.
/// </summary>
public static class TaskRandomness
{
    public static ulong Draw()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
