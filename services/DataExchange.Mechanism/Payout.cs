namespace DataExchange.Mechanism;

public static class Payout
{
    /// <summary>The charge RF* in the ledger's unit (banker's rounding of the double to LedgerDecimals places).</summary>
    public static decimal Charge(double revenue, int ledgerDecimals)
    {
        if (!double.IsFinite(revenue) || revenue < 0) throw new ArgumentOutOfRangeException(nameof(revenue), revenue, "revenue must be finite and >= 0.");
        return Math.Round((decimal)revenue, ledgerDecimals, MidpointRounding.ToEven);
    }

    /// <summary>
    /// Splits a charge by shares (each in [0, 1], summing to at most 1). The fee comes off first (rounded down).
    /// Each seller gets (charge - fee) * share rounded down to the ledger's unit, so no seller is ever paid more
    /// than its share. Without renormalisation the remainder, PD_B*'s withheld part and the rounding, is retained by
    /// the market. With <paramref name="distributeRemainder"/> (renormalised shares) the leftover units go one each
    /// to the sellers with the largest rounding remainders, ties to the lower index: deterministic, and the sellers
    /// then receive the whole net charge whenever any share is positive.
    /// </summary>
    public static PayoutSplit Split(decimal charge, IReadOnlyList<string> sellerIds, IReadOnlyList<double> shares,
        int ledgerDecimals, decimal feeRate = 0m, bool distributeRemainder = false)
    {
        if (charge < 0) throw new ArgumentOutOfRangeException(nameof(charge), charge, "charge must be >= 0.");
        if (sellerIds.Count != shares.Count) throw new ArgumentException($"{sellerIds.Count} sellers but {shares.Count} shares.", nameof(shares));
        var unit = Unit(ledgerDecimals);
        var fee = RoundDown(charge * feeRate, ledgerDecimals);
        var net = charge - fee;
        var amounts = new decimal[shares.Count];
        var remainders = new decimal[shares.Count];
        var positive = false;
        for (var m = 0; m < shares.Count; m++)
        {
            var s = shares[m];
            if (!double.IsFinite(s) || s < 0 || s > 1) throw new ArgumentOutOfRangeException(nameof(shares), s, $"shares[{m}] must lie in [0, 1].");
            var exact = net * (decimal)s;
            amounts[m] = RoundDown(exact, ledgerDecimals);
            remainders[m] = exact - amounts[m];
            positive |= s > 0;
        }
        // Shares converted to decimal may sum a hair above 1: take any excess back from the largest payouts.
        var excess = amounts.Sum() - net;
        while (excess > 0)
        {
            var i = IndexOfMax(amounts);
            var take = Math.Min(excess, amounts[i]);
            amounts[i] -= take;
            excess -= take;
        }
        if (distributeRemainder && positive)
        {
            var left = net - amounts.Sum();
            var order = Enumerable.Range(0, amounts.Length).Where(i => shares[i] > 0)
                .OrderByDescending(i => remainders[i]).ThenBy(i => i).ToArray();
            // Whole rounds at once (each seller one unit per round), then one more unit each for the first in order.
            var units = decimal.Floor(left / unit);
            var rounds = decimal.Floor(units / order.Length);
            var extra = (int)(units - rounds * order.Length);
            for (var k = 0; k < order.Length; k++)
                amounts[order[k]] += (rounds + (k < extra ? 1 : 0)) * unit;
        }
        var payouts = new SellerPayout[amounts.Length];
        for (var m = 0; m < payouts.Length; m++) payouts[m] = new SellerPayout(sellerIds[m], shares[m], amounts[m]);
        return new PayoutSplit(charge, fee, net - amounts.Sum(), payouts);
    }

    private static decimal Unit(int decimals)
    {
        var unit = 1m;
        for (var i = 0; i < decimals; i++) unit /= 10m;
        return unit;
    }

    private static decimal RoundDown(decimal value, int decimals) => Math.Round(value, decimals, MidpointRounding.ToZero);

    private static int IndexOfMax(decimal[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
