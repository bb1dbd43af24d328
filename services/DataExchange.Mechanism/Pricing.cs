using System.Collections.Immutable;

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

/// <summary>A price quote: the grid index and price drawn for a task.</summary>
public readonly record struct PriceQuote(int Index, double Price);

/// <summary>PF* (Alg. 1): multiplicative weights over the price grid.</summary>
public static class MultiplicativeWeightsPricer
{
    // Weights grow like (1 + delta)^n; rescaling by a power of two is exact and keeps them finite for long runs.
    private const double RescaleAbove = 1e200;

    /// <summary>Draws p_n with probability w_c / sum(w), before the bid is seen.</summary>
    public static PriceQuote Quote(PricerState state, PriceGrid grid, ulong seed)
    {
        if (state.Weights.Length != grid.Count)
            throw new ArgumentException($"state has {state.Weights.Length} weights, the grid {grid.Count} prices.", nameof(state));
        var total = 0.0;
        foreach (var w in state.Weights) total += w;
        var u = new SeededRandom(seed).NextDouble() * total;
        var acc = 0.0;
        for (var c = 0; c < grid.Count; c++)
        {
            acc += state.Weights[c];
            if (u < acc) return new PriceQuote(c, grid.Prices[c]);
        }
        return new PriceQuote(grid.Count - 1, grid.Prices[grid.Count - 1]);
    }

    /// <summary>
    /// After task n: g_c = RF*(c, b_n, Y_n) / b_max clipped to [0, 1], and w_c &lt;- w_c (1 + delta g_c).
    /// </summary>
    public static PricerState Update(PricerState state, PriceGrid grid, IReadOnlyList<double> revenueCurve) =>
        Update(state, grid, revenueCurve, grid.Delta);

    /// <summary>The same update with learning rate <paramref name="learningRate"/> in place of delta (tests try rates that are off).</summary>
    internal static PricerState Update(PricerState state, PriceGrid grid, IReadOnlyList<double> revenueCurve, double learningRate)
    {
        if (!(learningRate >= 0) || !double.IsFinite(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "must be finite and >= 0");
        if (revenueCurve.Count != grid.Count)
            throw new ArgumentException($"revenueCurve has {revenueCurve.Count} values, the grid {grid.Count} prices.", nameof(revenueCurve));
        var next = new double[grid.Count];
        var max = 0.0;
        for (var c = 0; c < next.Length; c++)
        {
            var r = revenueCurve[c];
            if (!double.IsFinite(r)) throw new ArgumentException($"revenueCurve[{c}] is {r}.", nameof(revenueCurve));
            var g = Math.Clamp(r / grid.MaxPrice, 0.0, 1.0);
            next[c] = state.Weights[c] * (1.0 + learningRate * g);
            max = Math.Max(max, next[c]);
        }
        if (max > RescaleAbove)
            for (var c = 0; c < next.Length; c++) next[c] = Math.ScaleB(next[c], -600);
        return new PricerState(ImmutableArray.Create(next), state.Updates + 1);
    }
}
