using DataExchange.Contracts;

namespace DataExchange.Ingestion.Sellers;

/// <summary>What ingestion knows of a seller: the fold of its stream (registration and how many observations it has).</summary>
public sealed partial class Seller
{
    public string Id { get; set; } = "";
    public string? Name { get; set; }
    public long Steps { get; set; }

    public static Seller Create(SellerRegistered e) => new() { Id = e.SellerId, Name = e.Name };

    public void Apply(FeatureObservationsAppended e) => Steps = Math.Max(Steps, e.FromStep + e.Values.Length);
}
