namespace DataExchange.Mechanism;

/// <summary>The phases of one task, in order, as <see cref="MarketTask.Run"/> reports their ends.</summary>
public enum TaskPhase
{
    /// <summary>Noise matrix and the Gram moments of the task.</summary>
    Moments,
    /// <summary>AF*, G, RF* charged, the revenue curve over the price grid, the predictions.</summary>
    Allocation,
    /// <summary>PD_A*.</summary>
    Shapley,
    /// <summary>PD_B* and the decimal split.</summary>
    Settlement,
}
