namespace DataExchange.Mechanism;

/// <summary>RF* (Myerson, Eq. 3) of a raw gain curve G of the bid at price p, through the ironed allocation.</summary>
public static class MyersonRevenue
{
    /// <summary>
    /// RF*(p, b) for the allocation <see cref="IronedGain"/> makes of <paramref name="gainAtBid"/> on
    /// <paramref name="points"/> step bids (that many gain evaluations). 0 for a bid of 0 or a price of 0.
    /// </summary>
    public static double Revenue(Func<double, double> gainAtBid, double price, double bid, int points)
    {
        ArgumentNullException.ThrowIfNull(gainAtBid);
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "must be at least 2");
        if (!(bid > 0) || !(price > 0)) return 0.0;
        return IronedGain.Create(gainAtBid, price, points).Revenue(bid);
    }
}
