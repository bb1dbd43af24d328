namespace DataExchange.Replicas;

/// <summary>
/// A service's own copy of one seller's feature series, built from the bus (SellerRegistered,
/// FeatureObservationsAppended). Services never read another service's store; those that need the sellers'
/// data (allocation and payout) keep this replica. Observations are append-only, so a window once complete never changes.
/// </summary>
public sealed class SellerSeries
{
    public string Id { get; set; } = "";
    /// <summary>A series (double[]): stored in the event store's compact form (StoredSeriesConverter).</summary>
    public double[] Values { get; set; } = [];
}
