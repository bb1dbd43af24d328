namespace DataExchange.Mechanism;

/// <summary>
/// How a task's charge is split among its sellers. No rule is both exactly balanced and replication robust
/// (Prop. 5.1); each of these gives up one of the two in its own way. README, "Payout rules", has the measurements.
/// </summary>
public enum PayoutRule
{
    /// <summary>
    /// PD_B* as the paper writes it (Alg. 3): psi(m) exp(-lambda sum_{j != m} |cos(X_m, X_j)|), not renormalised; the
    /// withheld part is retained by the market. Robust (Thm 5.4), but sellers that share factors lose almost everything.
    /// </summary>
    Paper,

    /// <summary>PD_B* renormalised to sum to one and paid out in full: balanced, not replication robust (Prop. 5.1).</summary>
    Renormalised,

    /// <summary>
    /// PD_B* with SM'(a, b) = max(0, (|cos(a, b)| - tau) / (1 - tau)), tau = <see cref="MarketParameters.SimilarityThreshold"/>,
    /// not renormalised. An exact copy still scores 1, so Prop. 5.2's argument ((c + 1) f(x + c) &lt;= f(x) for
    /// f(x) = exp(-lambda x), which holds for every c &gt;= 1 when lambda &gt;= ln 2) still covers exact copies; sellers
    /// that are merely correlated (|cos| &lt;= tau) keep their share.
    /// </summary>
    Thresholded,

    /// <summary>
    /// Shapley values of the interventional game (Falconer, Kazempour and Pinson, "Towards Replication-Robust Analytics
    /// Markets", arXiv 2310.06000): a coalition is valued by the market's own G of the full model's coefficients
    /// restricted to it, no refitting, so copies share one coefficient mass instead of each being worth the original.
    /// Shares max(0, phi) / sum max(0, phi), paid out in full (efficiency). Exact (M &lt;= 24) or Monte Carlo as PD_A* is.
    /// </summary>
    Interventional,

    /// <summary>
    /// The interventional game valued by the held-out squared error, the loss Falconer, Kazempour and Pinson use
    /// (arXiv 2310.06000), instead of G = 1 - RMSE / range: a quadratic set function, so its Shapley values have a
    /// closed form (exact for any M, O(M^2)), and the Shapley values of a seller and its exact copies add up to what
    /// the seller alone had, but for ridge shrinking the group's coefficient a little less. Paid out in full.
    /// </summary>
    InterventionalMse,
}
