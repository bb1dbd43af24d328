namespace DataExchange.Mechanism;

/// <summary>
/// A cooperative game over the sellers as a Shapley estimator walks it: a coalition grown one seller at a time,
/// its value G in [0, 1] after each join. <see cref="CoalitionWalker"/> refits the model (PD_A*);
/// <see cref="InterventionalGame"/> keeps the full model's coefficients.
/// </summary>
internal interface ICoalitionGame
{
    int Sellers { get; }

    /// <summary>G of the empty coalition.</summary>
    double EmptyGain { get; }

    /// <summary>Back to the empty coalition.</summary>
    void Reset();

    /// <summary>G once seller j has joined the current coalition (<paramref name="previous"/> is G before).</summary>
    double Join(int j, double previous);

    /// <summary>
    /// A game of its own (its own coalition and scratch buffers) over the same read-only system, for another thread:
    /// its gains are the same bits as this one's.
    /// </summary>
    ICoalitionGame Fork();
}
