namespace DataExchange.Mechanism;

/// <summary>
/// The three random choices of a task, each from its own recorded seed: the price draw (PF*), the noise
/// matrix (AF*) and the Shapley permutations (PD_A*). Recorded in the task's events so it can be replayed.
/// </summary>
public readonly record struct TaskSeeds(ulong Price, ulong Noise, ulong Permutations)
{
    /// <summary>Independent seeds for task <paramref name="taskIndex"/> of a market run from one market seed.</summary>
    public static TaskSeeds ForTask(ulong marketSeed, long taskIndex) => FromTaskSeed(TaskSeed(marketSeed, taskIndex));

    /// <summary>The one seed a task records; its three seeds derive from it.</summary>
    public static ulong TaskSeed(ulong marketSeed, long taskIndex) => SeededRandom.Derive(marketSeed, (ulong)taskIndex);

    public static TaskSeeds FromTaskSeed(ulong taskSeed) =>
        new(SeededRandom.Derive(taskSeed, 1), SeededRandom.Derive(taskSeed, 2), SeededRandom.Derive(taskSeed, 3));

    /// <summary>A task seed from a task id, for tasks submitted without one (the id's 128 bits folded to 64).</summary>
    public static ulong TaskSeed(Guid taskId)
    {
        Span<byte> bytes = stackalloc byte[16];
        taskId.TryWriteBytes(bytes);
        return BitConverter.ToUInt64(bytes[..8]) ^ BitConverter.ToUInt64(bytes[8..]);
    }
}
