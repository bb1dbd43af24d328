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

/// <summary>What a buyer's target is (a market chooses one when it opens).</summary>
public enum TaskKind
{
    /// <summary>A series of numbers, predicted by ridge regression; G from the held-out RMSE (or R^2).</summary>
    Regression,

    /// <summary>
    /// Class labels (integers, two or more classes), predicted by least-squares one-vs-rest on the standardised features
    /// (Remark 2.2: accuracy instead of RMSE); G = max(0, (acc - base) / (1 - base)) on the held-out part (<see cref="Classification"/>).
    /// </summary>
    Classification,
}

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

/// <summary>The settings' names as the command line and recorded terms spell them: the enum names in lower case.</summary>
public static class SettingNames
{
    public static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Name).ToArray();

    public static bool TryParse<T>(string? name, out T value) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
        {
            if (!string.Equals(Name(v), name, StringComparison.OrdinalIgnoreCase)) continue;
            value = v;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>A setting by name, any case; ArgumentOutOfRangeException naming <paramref name="field"/> and the choices otherwise.</summary>
    public static T Parse<T>(string? name, string field) where T : struct, Enum =>
        TryParse<T>(name, out var value) ? value
            : throw new ArgumentOutOfRangeException(field, name, $"must be one of {string.Join(", ", Names<T>())}");
}
