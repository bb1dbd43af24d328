namespace DataExchange.Mechanism.Tests;

/// <summary>The decimal split: charge = sum(payouts) + retained + fee, exactly, for every task.</summary>
public class PayoutTests
{
    private static string[] Ids(int n) => Enumerable.Range(0, n).Select(i => $"s{i}").ToArray();

    private static decimal Unit(int decimals) => 1m / (decimal)Math.Pow(10, decimals);

    [Fact]
    public void Random_splits_balance_exactly_and_never_overpay()
    {
        var rng = new SeededRandom(31337);
        for (var trial = 0; trial < 1000; trial++)
        {
            var decimals = trial % 5 == 0 ? rng.Next(0, 9) : 8;
            var charge = decimal.Round((decimal)(rng.NextDouble() * Math.Pow(10, rng.Next(-3, 7))), decimals);
            var n = 1 + rng.Next(12);
            var raw = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.2 ? 0.0 : rng.NextDouble()).ToArray();
            var total = raw.Sum();
            // shares summing to 1 (Shapley shares), to less (PD_B*), or all zero
            var factor = trial % 3 == 0 ? 1.0 : rng.NextDouble();
            var shares = total > 0 ? raw.Select(v => v / total * factor).ToArray() : raw;
            shares = shares.Select(s => Math.Min(1.0, s)).ToArray();
            var feeRate = trial % 4 == 0 ? (decimal)Math.Round(rng.NextDouble() * 0.2, 4) : 0m;
            // distributing the remainder is meant for renormalised shares (sum 1): see the separate tests below for others
            var distribute = trial % 2 == 1 && factor == 1.0;

            var split = Payout.Split(charge, Ids(n), shares, decimals, feeRate, distribute);
            var again = Payout.Split(charge, Ids(n), shares, decimals, feeRate, distribute);

            var paid = split.Payouts.Sum(x => x.Amount);
            Assert.Equal(charge, paid + split.Retained + split.Fee);
            Assert.Equal(paid, split.PaidToSellers);
            Assert.Equal(charge, split.Charge);
            Assert.True(split.Fee >= 0 && split.Fee <= charge * feeRate, $"fee {split.Fee}");
            Assert.True(split.Retained >= 0, $"trial {trial}: retained {split.Retained} < 0");
            var net = charge - split.Fee;
            var unit = Unit(decimals);
            for (var i = 0; i < n; i++)
            {
                var amount = split.Payouts[i].Amount;
                Assert.Equal($"s{i}", split.Payouts[i].SellerId);
                Assert.Equal(shares[i], split.Payouts[i].Share);
                Assert.True(amount >= 0);
                Assert.Equal(amount, decimal.Round(amount, decimals)); // a whole number of ledger units
                if (shares[i] == 0) Assert.Equal(0m, amount);
                if (!distribute)
                {
                    // never more than charge * share (checked in decimal and in double)
                    Assert.True(amount <= charge * (decimal)shares[i], $"trial {trial}: paid {amount} > {charge} * {shares[i]}");
                    Assert.True((double)amount <= (double)charge * shares[i] * (1 + 1e-12), $"trial {trial}: paid {amount} > {charge} * {shares[i]}");
                    // and at most two ledger units short of net * share (rounding down, plus any excess taken back)
                    Assert.True((double)amount >= (double)net * shares[i] - 2 * (double)unit * (1 + 1e-9), $"trial {trial}: paid {amount} far below {net} * {shares[i]}");
                }
            }
            if (distribute && shares.Any(s => s > 0)) Assert.Equal(net, paid);
            if (distribute && shares.Any(s => s > 0) && factor == 1.0)
                for (var i = 0; i < n; i++)
                    Assert.True((double)split.Payouts[i].Amount <= (double)net * shares[i] + (double)unit * (1 + 1e-9),
                        $"trial {trial}: with normalised shares seller {i} got more than one unit above its share");
            if (shares.All(s => s == 0)) Assert.Equal(net, split.Retained);
            // deterministic
            Assert.Equal(split.Fee, again.Fee);
            Assert.Equal(split.Retained, again.Retained);
            Assert.Equal(split.Payouts.Select(x => x.Amount), again.Payouts.Select(x => x.Amount));
        }
    }

    [Fact]
    public void Remainder_goes_to_the_largest_rounding_remainders_ties_to_the_lower_index()
    {
        // whole units: 1 unit over shares 1/2, 1/2 -> 0.5 each, floors 0, 0; the leftover unit goes to index 0
        var split = Payout.Split(1m, Ids(2), [0.5, 0.5], 0, 0m, distributeRemainder: true);
        Assert.Equal([1m, 0m], split.Payouts.Select(p => p.Amount));
        Assert.Equal(0m, split.Retained);

        // 2 units over 1/4, 1/2, 1/4: exact 0.5, 1, 0.5 -> floors 0, 1, 0; remainders .5, 0, .5: leftover to index 0
        split = Payout.Split(2m, Ids(3), [0.25, 0.5, 0.25], 0, 0m, true);
        Assert.Equal([1m, 1m, 0m], split.Payouts.Select(p => p.Amount));

        // 3 units: exact .75, 1.5, .75 -> floors 0, 1, 0; remainders .75, .5, .75; two leftovers: index 0 then 2
        split = Payout.Split(3m, Ids(3), [0.25, 0.5, 0.25], 0, 0m, true);
        Assert.Equal([1m, 1m, 1m], split.Payouts.Select(p => p.Amount));

        // 0.00000010 over 0.125, 0.375, 0.5 (8 decimals): exact 1.25, 3.75, 5 units -> 1, 3, 5; leftover to index 1 (.75)
        split = Payout.Split(0.0000001m, Ids(3), [0.125, 0.375, 0.5], 8, 0m, true);
        Assert.Equal([0.00000001m, 0.00000004m, 0.00000005m], split.Payouts.Select(p => p.Amount));

        // without distribution the same leftover is retained
        split = Payout.Split(0.0000001m, Ids(3), [0.125, 0.375, 0.5], 8);
        Assert.Equal([0.00000001m, 0.00000003m, 0.00000005m], split.Payouts.Select(p => p.Amount));
        Assert.Equal(0.00000001m, split.Retained);
    }

    [Fact]
    public void Distributing_with_shares_below_one_still_pays_out_the_whole_net_charge()
    {
        // 1.0000 at 4 decimals over shares 0.2, 0.3, 0: floors 0.2, 0.3; 5000 leftover units go round-robin to the
        // positive shares, largest remainder first (equal: lower index first): 2500 each.
        var split = Payout.Split(1m, Ids(3), [0.2, 0.3, 0.0], 4, 0m, true);
        Assert.Equal(1m, split.PaidToSellers);
        Assert.Equal(0m, split.Retained);
        Assert.Equal([0.45m, 0.55m, 0m], split.Payouts.Select(p => p.Amount));
    }

    [Fact(Timeout = 20000)]
    public async Task Distributing_a_large_leftover_hands_out_whole_rounds_at_once()
    {
        // 10^14 leftover ledger units: one unit per loop step would never finish (the timeout guards that).
        var split = await System.Threading.Tasks.Task.Run(() => Payout.Split(1_000_000m, Ids(2), [0.25, 0.25], 8, 0m, true));
        Assert.Equal(1_000_000m, split.PaidToSellers);
        Assert.Equal([500_000m, 500_000m], split.Payouts.Select(p => p.Amount));
        Assert.Equal(0m, split.Retained);
    }

    [Fact]
    public void Leftover_units_that_do_not_divide_evenly_go_to_the_lowest_index_first()
    {
        // 1 at 4 decimals, shares 0.1 each: 0.1 paid each, 7000 units left = 2333 rounds of 3 and 1 extra unit.
        var split = Payout.Split(1m, Ids(3), [0.1, 0.1, 0.1], 4, 0m, true);
        Assert.Equal([0.3334m, 0.3333m, 0.3333m], split.Payouts.Select(p => p.Amount));
        Assert.Equal(0m, split.Retained);
    }

    [Fact]
    public void Fee_comes_off_first_rounded_down()
    {
        // 10.00000005 at 1%: 0.1000000005 -> 0.10000000; net 9.90000005; share 0.5 each -> 4.950000025 -> 4.95000002
        var split = Payout.Split(10.00000005m, Ids(2), [0.5, 0.5], 8, 0.01m);
        Assert.Equal(0.1m, split.Fee);
        Assert.Equal([4.95000002m, 4.95000002m], split.Payouts.Select(p => p.Amount));
        Assert.Equal(0.00000001m, split.Retained);
    }

    [Fact]
    public void Charge_rounds_half_to_even_in_the_ledger_unit()
    {
        Assert.Equal(0.12345678m, Payout.Charge(0.123456784, 8));
        Assert.Equal(0.12345679m, Payout.Charge(0.123456786, 8));
        Assert.Equal(2m, Payout.Charge(2.5, 0));
        Assert.Equal(4m, Payout.Charge(3.5, 0));
        Assert.Equal(0m, Payout.Charge(0.0, 8));
        Assert.Equal("revenue", Assert.Throws<ArgumentOutOfRangeException>(() => Payout.Charge(double.NaN, 8)).ParamName);
        Assert.Equal("revenue", Assert.Throws<ArgumentOutOfRangeException>(() => Payout.Charge(-1e-9, 8)).ParamName);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1.5)]
    public void Bad_shares_throw_naming_shares(double bad)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Payout.Split(1m, Ids(3), [0.2, bad, 0.3], 8));
        Assert.Equal("shares", e.ParamName);
    }

    [Fact]
    public void Bad_charge_and_mismatched_lengths_throw()
    {
        Assert.Equal("charge", Assert.Throws<ArgumentOutOfRangeException>(() => Payout.Split(-1m, Ids(1), [1.0], 8)).ParamName);
        Assert.Equal("shares", Assert.Throws<ArgumentException>(() => Payout.Split(1m, Ids(2), [1.0], 8)).ParamName);
    }
}
