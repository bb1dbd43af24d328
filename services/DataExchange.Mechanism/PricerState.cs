using System.Collections.Immutable;

namespace DataExchange.Mechanism;

/// <summary>The MWU weights of PF*, one per grid price, and how many updates made them. Saved and restored exactly.</summary>
public sealed record PricerState(ImmutableArray<double> Weights, long Updates)
{
    public static PricerState Initial(PriceGrid grid) => new(ImmutableArray.CreateRange(Enumerable.Repeat(1.0, grid.Count)), 0);

    /// <summary>The weights as probabilities of each grid price.</summary>
    public double[] Probabilities()
    {
        var total = 0.0;
        foreach (var w in Weights) total += w;
        return Weights.Select(w => w / total).ToArray();
    }
}
