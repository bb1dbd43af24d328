namespace DataExchange.Mechanism;

/// <summary>
/// The three random choices of a task, each from its own recorded seed: the price draw (PF*), the noise
/// matrix (AF*) and the Shapley permutations (PD_A*). Recorded in the task's events so it can be replayed.
/// </summary>
public readonly record struct TaskSeeds(ulong Price, ulong Noise, ulong Permutations)
{
    /// <summary>Independent seeds for task <paramref name="taskIndex"/> of a market run from one market seed.</summary>
    public static TaskSeeds ForTask(ulong marketSeed, long taskIndex)
    {
        var task = SeededRandom.Derive(marketSeed, (ulong)taskIndex);
        return new TaskSeeds(SeededRandom.Derive(task, 1), SeededRandom.Derive(task, 2), SeededRandom.Derive(task, 3));
    }
}
