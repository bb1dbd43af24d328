namespace DataExchange.Mechanism;

/// <summary>
/// G of all sellers (regression by noise) at levels s &gt; 0 on scratch systems refilled per level: RF* and the revenue
/// curve visit a few hundred levels per task. Pushing the sellers in index order reads only the Grams' lower triangles,
/// so only those are refilled; a gain is a function of s alone, whichever scratch system computes it.
/// </summary>
internal static class FullCoalitionGains
{
    /// <summary>G at level s on <paramref name="scratch"/> (made on first use, then refilled).</summary>
    public static double At(TaskMoments moments, MarketParameters parameters, ref CoalitionWalker? scratch, double level)
    {
        if (scratch is null) scratch = new CoalitionWalker(GainSystem.Build(moments, level, parameters));
        else scratch.System.Rebuild(level, lowerTriangle: true);
        return Of(scratch);
    }

    /// <summary>gains[i] = G at levels[i], on up to <paramref name="threads"/> threads with a scratch system each.</summary>
    public static double[] At(TaskMoments moments, MarketParameters parameters, IReadOnlyList<double> levels, int threads)
    {
        var gains = new double[levels.Count];
        var scratch = new CoalitionWalker?[threads];
        ParallelWork.For(levels.Count, threads, (i, worker) => gains[i] = At(moments, parameters, ref scratch[worker], levels[i]));
        return gains;
    }

    /// <summary>G of the walker's system with every seller pushed in index order.</summary>
    public static double Of(CoalitionWalker walker)
    {
        walker.Reset();
        for (var j = 0; j < walker.Sellers; j++) walker.Push(j);
        return walker.Gain();
    }
}
