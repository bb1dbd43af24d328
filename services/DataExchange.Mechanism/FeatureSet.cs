namespace DataExchange.Mechanism;

/// <summary>
/// The sellers' feature series for one task: row m is seller m's series X_m(t), t = 1..T, all of equal length.
/// The arrays are copied in, so later changes by the caller cannot alter a task under way.
/// </summary>
public sealed class FeatureSet
{
    private readonly double[][] _rows;

    public FeatureSet(IReadOnlyList<string> sellerIds, IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(sellerIds);
        ArgumentNullException.ThrowIfNull(rows);
        if (sellerIds.Count != rows.Count)
            throw new ArgumentException($"sellerIds has {sellerIds.Count} entries but rows has {rows.Count}.", nameof(rows));
        if (rows.Count == 0) throw new ArgumentException("at least one seller is needed.", nameof(rows));
        var steps = rows[0].Length;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        _rows = new double[rows.Count][];
        for (var m = 0; m < rows.Count; m++)
        {
            var id = sellerIds[m];
            if (string.IsNullOrWhiteSpace(id)) throw new ArgumentException($"sellers[{m}].id is empty.", nameof(sellerIds));
            if (!seen.Add(id)) throw new ArgumentException($"sellers[{m}].id '{id}' is a duplicate.", nameof(sellerIds));
            var row = rows[m] ?? throw new ArgumentException($"sellers[{m}].values is missing.", nameof(rows));
            if (row.Length != steps)
                throw new ArgumentException($"sellers[{m}].values has {row.Length} values, expected {steps}.", nameof(rows));
            for (var t = 0; t < row.Length; t++)
                if (!double.IsFinite(row[t]))
                    throw new ArgumentException($"sellers[{m}].values[{t}] is {row[t]}, not a finite number.", nameof(rows));
            _rows[m] = (double[])row.Clone();
        }
        SellerIds = sellerIds.ToArray();
        Steps = steps;
    }

    public IReadOnlyList<string> SellerIds { get; }
    public int Sellers => _rows.Length;
    public int Steps { get; }

    public ReadOnlySpan<double> Row(int seller) => _rows[seller];

    private readonly Lock _cacheLock = new();
    private SellerMoments? _moments;
    private double[,]? _similarity;
    private double _similarityThreshold;
    private SimilarityKind _similarityKind;

    /// <summary>
    /// The sellers' own part of every task's moments for a training length (the last one asked for is kept: a market
    /// uses one). The rows never change, so this is exact: the same code, the same numbers, once instead of per task.
    /// </summary>
    internal SellerMoments Moments(int trainLength, int threads = 1)
    {
        lock (_cacheLock)
        {
            if (_moments is { } cached && cached.TrainLength == trainLength) return cached;
            return _moments = SellerMoments.Compute(this, trainLength, threads);
        }
    }

    /// <summary>PD_B*'s similarities (<see cref="RobustShares.Similarity(FeatureSet, double, SimilarityKind)"/>), computed once per threshold and kind (the last kept); callers must not write to it.</summary>
    internal double[,] Similarity(double threshold = 0.0, SimilarityKind kind = SimilarityKind.Cosine, int threads = 1)
    {
        lock (_cacheLock)
        {
            if (_similarity is { } cached && _similarityThreshold.Equals(threshold) && _similarityKind == kind) return cached;
            _similarityThreshold = threshold;
            _similarityKind = kind;
            return _similarity = RobustShares.Similarity(this, threshold, kind, threads);
        }
    }
}
