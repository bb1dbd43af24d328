namespace DataExchange.Mechanism;

/// <summary>
/// E in AF* (Ex. 4.1): a standard normal matrix of the sellers' shape, drawn once per task from a recorded seed.
/// The same E serves every bid and every price of the task (common random numbers), so gains at different
/// bids differ only by the noise level, never by a fresh draw: a fresh E per bid would make G(z) jump with the draw,
/// and RF*'s sum over the step bids (Eq. 3) would charge for that jitter instead of for the bid.
/// </summary>
public sealed class NoiseMatrix
{
    private readonly double[][] _rows;

    private NoiseMatrix(double[][] rows) => _rows = rows;

    public int Sellers => _rows.Length;
    public int Steps => _rows.Length == 0 ? 0 : _rows[0].Length;

    public ReadOnlySpan<double> Row(int seller) => _rows[seller];

    public static NoiseMatrix Draw(int sellers, int steps, ulong seed) => Draw(sellers, steps, seed, 1);

    /// <summary>
    /// The same E on up to <paramref name="threads"/> threads: the uniforms are drawn in the one stream's order on this
    /// thread (a few ns each), and each row's Box-Muller transform (the logs and sines, most of the cost) runs on any
    /// thread, so every value is the one the sequential draw gives.
    /// </summary>
    internal static NoiseMatrix Draw(int sellers, int steps, ulong seed, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sellers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        var rng = new SeededRandom(seed);
        var rows = new double[sellers][];
        if (threads <= 1)
        {
            for (var m = 0; m < sellers; m++)
            {
                rows[m] = new double[steps];
                rng.FillStandardNormal(rows[m]);
            }
            return new NoiseMatrix(rows);
        }
        var last = new (double, double)[sellers];
        for (var m = 0; m < sellers; m++)
        {
            rows[m] = new double[steps];
            last[m] = rng.FillUniforms(rows[m]);
        }
        ParallelWork.For(sellers, threads, (m, _) => SeededRandom.ToStandardNormal(rows[m], last[m]));
        return new NoiseMatrix(rows);
    }
}
