namespace DataExchange.Mechanism;

/// <summary>How AF* degrades the sellers' features for a bid below the price (a market chooses one when it opens).</summary>
public enum AllocationKind
{
    /// <summary>Ex. 4.1: X~ = X + max(0, p - b) sigma E, E standard normal drawn once per task.</summary>
    Noise,

    /// <summary>
    /// Ex. 4.2: each observation of each seller is kept with probability min(1, b / p), the rest masked; the mask comes
    /// from uniforms drawn once per task, so a higher bid keeps a superset (see <see cref="Sampling"/>).
    /// </summary>
    Sampling,
}
