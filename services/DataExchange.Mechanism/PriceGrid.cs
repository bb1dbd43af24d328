namespace DataExchange.Mechanism;

/// <summary>The experts of PF* (Alg. 1): an eps-net of prices on [b_min, b_max] with eps = 1 / (L sqrt(N)).</summary>
public sealed class PriceGrid
{
    private PriceGrid(double[] prices, double step, double delta, double maxPrice)
    {
        Prices = prices;
        Step = step;
        Delta = delta;
        MaxPrice = maxPrice;
    }

    public IReadOnlyList<double> Prices { get; }
    public int Count => Prices.Count;
    /// <summary>eps, the spacing of the net.</summary>
    public double Step { get; }
    /// <summary>delta = sqrt(ln |grid| / N), the MWU learning rate (Thm 5.2).</summary>
    public double Delta { get; }
    public double MaxPrice { get; }

    /// <summary>The mean price under the weights: what the market charges on average for its next quote.</summary>
    public double MeanPrice(PricerState state)
    {
        var total = 0.0;
        var weighted = 0.0;
        for (var c = 0; c < Count; c++)
        {
            total += state.Weights[c];
            weighted += state.Weights[c] * Prices[c];
        }
        return weighted / total;
    }

    public static PriceGrid Create(MarketParameters p)
    {
        var step = 1.0 / (p.Lipschitz * Math.Sqrt(p.ExpectedTasks));
        // Prices are b_min + i eps (no running sum, so no drift), up to b_max inclusive within 1e-9.
        var count = (int)Math.Floor((p.MaxPrice - p.MinPrice) / step + 1e-9) + 1;
        var prices = new double[count];
        for (var i = 0; i < count; i++) prices[i] = p.MinPrice + i * step;
        var delta = Math.Sqrt(Math.Log(count) / p.ExpectedTasks);
        return new PriceGrid(prices, step, delta, p.MaxPrice);
    }

    public int IndexOf(double price)
    {
        for (var i = 0; i < Prices.Count; i++)
            if (Prices[i] == price) return i;
        throw new ArgumentException($"price {price} is not on the grid.", nameof(price));
    }
}
