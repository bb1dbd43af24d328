using System.Collections.Immutable;

namespace DataExchange.Mechanism;

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
