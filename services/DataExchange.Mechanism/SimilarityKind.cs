namespace DataExchange.Mechanism;

/// <summary>SM of PD_B* (Alg. 3): how alike two sellers' data are (a market chooses one when it opens).</summary>
public enum SimilarityKind
{
    /// <summary>Ex. 4.3: |cos(X_m, X_j)|, the paper's default.</summary>
    Cosine,

    /// <summary>
    /// Ex. 4.4: 1 - H(P_m, P_j), H the Hellinger distance between the sellers' empirical distributions, each fitted by a
    /// Gaussian (<see cref="RobustShares.HellingerSimilarity"/>): a copy scores 1 like under cosine, but so does any
    /// seller whose values are distributed alike, whatever their order in time.
    /// </summary>
    Hellinger,
}
