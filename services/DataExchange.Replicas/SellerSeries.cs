namespace DataExchange.Replicas;

/// <summary>
/// A service's own copy of one seller's feature series, built from the bus (SellerRegistered,
/// FeatureObservationsAppended). Services never read another service's store; those that need the sellers'
/// data (allocation and payout) keep this replica. Observations are append-only, so a window once complete never changes.
/// </summary>
public sealed class SellerSeries
{
    public string Id { get; set; } = "";
    /// <summary>A series (double[]): stored in the event store's compact form (CompactSeriesConverter).</summary>
    public double[] Values { get; set; } = [];

    /// <summary>
    /// Appends a batch of observations from step <paramref name="fromStep"/>: the one fold of a seller's series, used by the
    /// replicas and by <c>dx audit</c>. A batch already held (a redelivery) changes nothing; one that would leave a gap is
    /// not applied.
    /// </summary>
    public SeriesAppend Append(long fromStep, double[] values)
    {
        var held = Values.Length;
        if (fromStep + values.Length <= held) return SeriesAppend.AlreadyHeld;
        if (fromStep > held) return SeriesAppend.Gap;
        Values = [.. Values, .. values.AsSpan((int)(held - fromStep))];
        return SeriesAppend.Appended;
    }
}

/// <summary>What <see cref="SellerSeries.Append"/> did with a batch.</summary>
public enum SeriesAppend { Appended, AlreadyHeld, Gap }
