using MathNet.Numerics.Distributions;

namespace DataExchange.Mechanism;

/// <summary>
/// The seed scenario's synthetic market (the shape of `dx simulate`'s default market): 5 latent factors ~ N(0, 1); seller m =
/// w_m . latent + 0.05 N(0, 1) with w_m ~ N(0, I_5); each buyer's coefficients ~ N(0, 1), each zeroed with
/// probability 0.7; y = coef . X + 0.5 N(0, 1); valuation mu ~ U(muMin, muMax).
/// </summary>
public static class SyntheticMarket
{
    public const int LatentFactors = 5;

    public static MarketScenario Generate(int sellers, int steps, int buyers, ulong seed, double muMin = 1.0, double muMax = 2.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sellers);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 4);
        ArgumentOutOfRangeException.ThrowIfNegative(buyers);
        if (!(muMin > 0 && muMax >= muMin)) throw new ArgumentOutOfRangeException(nameof(muMin), "valuations need 0 < muMin <= muMax.");
        var rng = new SeededRandom(seed);
        var latent = new double[LatentFactors][];
        for (var f = 0; f < LatentFactors; f++)
        {
            latent[f] = new double[steps];
            Normal.Samples(rng, latent[f], 0, 1);
        }
        var rows = new double[sellers][];
        var ids = new string[sellers];
        for (var m = 0; m < sellers; m++)
        {
            ids[m] = $"seller-{m:D2}";
            var w = new double[LatentFactors];
            Normal.Samples(rng, w, 0, 1);
            var row = new double[steps];
            Normal.Samples(rng, row, 0, 0.05);
            for (var t = 0; t < steps; t++)
                for (var f = 0; f < LatentFactors; f++)
                    row[t] += w[f] * latent[f][t];
            rows[m] = row;
        }
        var list = new List<SyntheticBuyer>(buyers);
        for (var n = 0; n < buyers; n++)
        {
            var coef = new double[sellers];
            Normal.Samples(rng, coef, 0, 1);
            for (var m = 0; m < sellers; m++)
                if (rng.NextDouble() < 0.7) coef[m] = 0;
            var y = new double[steps];
            Normal.Samples(rng, y, 0, 0.5);
            for (var m = 0; m < sellers; m++)
            {
                if (coef[m] == 0) continue;
                for (var t = 0; t < steps; t++) y[t] += coef[m] * rows[m][t];
            }
            var mu = muMin + (muMax - muMin) * rng.NextDouble();
            list.Add(new SyntheticBuyer($"buyer-{n:D3}", mu, y));
        }
        return new MarketScenario(new FeatureSet(ids, rows), list);
    }

    /// <summary>
    /// The same market with classification buyers: each buyer's target series becomes class labels 0 .. classes - 1 by
    /// its own quantiles (the steps ranked by value and cut into equal groups, ties by step), so the classes are about
    /// equally frequent and as predictable from the sellers as the series was.
    /// </summary>
    public static MarketScenario WithClassLabels(MarketScenario scenario, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classes, Classification.MaxClasses);
        var buyers = scenario.Buyers.Select(b =>
        {
            var order = Enumerable.Range(0, b.Target.Length).OrderBy(t => b.Target[t]).ThenBy(t => t).ToArray();
            var labels = new double[b.Target.Length];
            for (var rank = 0; rank < order.Length; rank++) labels[order[rank]] = (long)rank * classes / order.Length;
            return b with { Target = labels };
        }).ToList();
        return scenario with { Buyers = buyers };
    }

    /// <summary>
    /// The sellers after seller <paramref name="seller"/> registers <paramref name="copies"/> copies of its series under new
    /// ids ("{id}-copy1", ...), appended after the others (the replication of Prop. 5.1). With noiseFraction = 0 the copies
    /// are exact; otherwise each copy carries its own independent N(0, (noiseFraction sd)^2) noise, sd the series'
    /// population standard deviation, drawn from the seed.
    /// </summary>
    public static FeatureSet WithCopies(FeatureSet sellers, int seller, int copies, double noiseFraction, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seller);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(seller, sellers.Sellers);
        ArgumentOutOfRangeException.ThrowIfNegative(copies);
        if (!(double.IsFinite(noiseFraction) && noiseFraction >= 0))
            throw new ArgumentOutOfRangeException(nameof(noiseFraction), noiseFraction, "noiseFraction must be finite and >= 0.");
        var ids = sellers.SellerIds.ToList();
        var rows = Enumerable.Range(0, sellers.Sellers).Select(m => sellers.Row(m).ToArray()).ToList();
        var original = rows[seller];
        var mean = original.Average();
        var sd = Math.Sqrt(original.Sum(v => (v - mean) * (v - mean)) / original.Length);
        var rng = new SeededRandom(seed);
        for (var k = 1; k <= copies; k++)
        {
            var copy = (double[])original.Clone();
            if (noiseFraction > 0)
            {
                var noise = new double[copy.Length];
                Normal.Samples(rng, noise, 0, noiseFraction * sd);
                for (var t = 0; t < copy.Length; t++) copy[t] += noise[t];
            }
            rows.Add(copy);
            ids.Add($"{ids[seller]}-copy{k}");
        }
        return new FeatureSet(ids, rows);
    }
}
