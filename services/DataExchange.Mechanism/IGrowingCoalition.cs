namespace DataExchange.Mechanism;

/// <summary>A game whose coalition grows and shrinks one seller at a time (exact Shapley walks all coalitions depth first).</summary>
internal interface IGrowingCoalition : ICoalitionGame
{
    /// <summary>Adds seller j; false when its feature is linearly dependent on the coalition and so left out of the fit.</summary>
    bool Push(int j);

    /// <summary>Removes the most recently pushed seller (only after a Push that returned true).</summary>
    void Pop();

    /// <summary>G of the current coalition.</summary>
    double Gain();
}
