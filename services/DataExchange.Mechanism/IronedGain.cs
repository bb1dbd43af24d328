namespace DataExchange.Mechanism;

/// <summary>
/// The allocation of one task at price p as the buyer receives it, and Myerson's charge for it (Eq. 3).
/// Myerson's RF*(b) = b G(b) - integral_0^b G(z) dz makes b = mu optimal only if G is non-decreasing in the bid
/// (Thm 5.1). AF*'s raw held-out gain is not: a little noise often scores better on the held-out part (it acts as
/// extra ridge), so G peaks below p, and bidding below mu then pays. The market therefore irons the allocation on
/// the step bids z_k = p k / K, k = 0..K: at bid b it delivers, among the copies X + (p - z_k) sigma E with z_k &lt;= b,
/// the one that scores best. Each is at least as noisy as AF*'s copy for b (a degraded copy, never a better one), and
/// G~(b) = max_{z_k &lt;= b} G(z_k) is a non-decreasing step function by construction, so Eq. 3 integrates it exactly:
/// RF*(b) = z_j G~_j - sum_{k &lt; j} (z_{k+1} - z_k) G~_k = sum_{k = 1..j} z_k (G~_k - G~_{k-1}), j the step of b.
/// Every bid at or above p is in step K, so it is charged what b = p is, to the last bit. K + 1 gain evaluations.
/// </summary>
public sealed class IronedGain
{
    private readonly double[] _bids;
    private readonly double[] _gains;
    private readonly int[] _source;

    private IronedGain(double price, double[] bids, double[] gains, int[] source)
    {
        Price = price;
        _bids = bids;
        _gains = gains;
        _source = source;
    }

    public double Price { get; }
    /// <summary>K: the number of steps above z_0 = 0.</summary>
    public int Steps => _bids.Length - 1;
    public IReadOnlyList<double> StepBids => _bids;
    /// <summary>G~_k, non-decreasing in k.</summary>
    public IReadOnlyList<double> Gains => _gains;

    /// <summary>
    /// Irons <paramref name="gainAtBid"/> (AF*'s raw gain at a bid, price fixed) on <paramref name="points"/> step bids
    /// 0 = z_0 &lt; ... &lt; z_K = p. Ties go to the less noisy copy, so a monotone G is delivered at the step bid itself.
    /// </summary>
    public static IronedGain Create(Func<double, double> gainAtBid, double price, int points)
    {
        ArgumentNullException.ThrowIfNull(gainAtBid);
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "must be at least 2");
        if (!(price >= 0) || !double.IsFinite(price)) throw new ArgumentOutOfRangeException(nameof(price), price, "must be finite and >= 0");
        var steps = points - 1;
        var bids = new double[points];
        var gains = new double[points];
        var source = new int[points];
        for (var k = 0; k <= steps; k++)
        {
            bids[k] = StepBid(price, k, steps);
            var g = gainAtBid(bids[k]);
            if (k == 0 || g >= gains[k - 1])
            {
                gains[k] = g;
                source[k] = k;
            }
            else
            {
                gains[k] = gains[k - 1];
                source[k] = source[k - 1];
            }
        }
        return new IronedGain(price, bids, gains, source);
    }

    /// <summary>z_k = p k / K; k / K is exact at both ends, so z_0 = 0 and z_K = p exactly, and z_k is non-decreasing in k.</summary>
    internal static double StepBid(double price, int k, int steps) => price * ((double)k / steps);

    /// <summary>The step of a bid: the largest k with z_k &lt;= b (0 for a bid of 0 or below, K from b = p on).</summary>
    public int StepOf(double bid)
    {
        if (!(bid > 0)) return 0;
        if (bid >= Price) return Steps;
        var k = (int)Math.Clamp(Math.Floor(bid / Price * Steps), 0, Steps);
        while (k < Steps && _bids[k + 1] <= bid) k++;
        while (k > 0 && _bids[k] > bid) k--;
        return k;
    }

    /// <summary>G~(b): the gain the buyer receives at bid b.</summary>
    public double Gain(double bid) => _gains[StepOf(bid)];

    /// <summary>The step bid z whose copy X + (p - z) sigma E is delivered at bid b (z &lt;= min(b, p)).</summary>
    public double DeliveredBid(double bid) => _bids[_source[StepOf(bid)]];

    /// <summary>RF*(p, b) (Eq. 3) for the ironed allocation: exact for the step function, a sum of non-negative terms.</summary>
    public double Revenue(double bid)
    {
        var j = StepOf(bid);
        var charge = 0.0;
        for (var k = 1; k <= j; k++) charge += _bids[k] * (_gains[k] - _gains[k - 1]);
        return charge;
    }
}
