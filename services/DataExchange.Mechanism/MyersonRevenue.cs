using MathNet.Numerics.Integration;

namespace DataExchange.Mechanism;

/// <summary>
/// RF* (Myerson, Eq. 3): RF*(p, b) = b G(b) - integral_0^b G(z) dz for a gain curve G of the bid at price p.
/// Under AF* (Ex. 4.1) a bid at or above the price gets the exact features, so G is flat on [p, b] and
/// RF*(p, b) = u G(u) - integral_0^u G(z) dz with u = min(b, p): exactly, for every b >= p, the charge at b = p.
/// Integrating over all of [0, b] instead would put the quadrature's points on the flat part and make the charge
/// grow with the bid above the price (about (b / 28)(G(p) - G(0)) for a 15-point trapezoid), which breaks truthfulness.
/// </summary>
public static class MyersonRevenue
{
    /// <summary>
    /// The quadrature: Gauss-Legendre with <paramref name="points"/> - 1 nodes on [0, u], plus G(u) itself, so
    /// <paramref name="points"/> gain evaluations in all. Gauss-Legendre with n nodes is exact for polynomials of degree
    /// 2n - 1; G is smooth in the noise level except where it is clipped at 0, and the tests bound its error against a
    /// 4,001-point Simpson reference (docs: README, "RF*").
    /// </summary>
    public static double Revenue(Func<double, double> gainAtBid, double price, double bid, int points)
    {
        ArgumentNullException.ThrowIfNull(gainAtBid);
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "must be at least 2");
        if (!(bid > 0) || !(price >= 0)) return 0.0;
        var upper = Math.Min(bid, price);
        if (upper == 0.0) return 0.0;
        var rule = Rule(points - 1);
        var integral = 0.0;
        for (var i = 0; i < rule.Abscissas.Length; i++)
            integral += rule.Weights[i] * gainAtBid(upper * rule.Abscissas[i]);
        integral *= upper;
        return Math.Max(0.0, upper * gainAtBid(upper) - integral);
    }

    /// <summary>Nodes on [0, 1] and their weights, computed once per order.</summary>
    private static (double[] Abscissas, double[] Weights) Rule(int order) =>
        Rules.GetOrAdd(order, n =>
        {
            var gl = new GaussLegendreRule(0.0, 1.0, n);
            return (gl.Abscissas.ToArray(), gl.Weights.ToArray());
        });

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, (double[] Abscissas, double[] Weights)> Rules = new();
}
