namespace DataExchange.Mechanism;

/// <summary>
/// PD_A* to a target relative to the shares, sampled by position (stratified): phi_j = (1/M) sum over positions s of
/// mu_j(s), mu_j(s) the expected marginal G(S + j) - G(S) over coalitions S of s other sellers (Eq. 2 grouped by |S|).
/// Positions are grouped into bands B_b = [e_b, e_b+1) (0, 1, 2-3, 4-7, ..., the last from a power of two up to M), so
/// phi_j = sum_b (|B_b| / M) mu_j(B_b), mu_j(B_b) the mean marginal at a position drawn uniformly from the band. Each
/// (seller, band) stratum is estimated by its own sample mean and the strata are weighted exactly, so the estimate is
/// unbiased for any number of samples per stratum (stratified sampling by position: Maleki, Tran-Thanh, Hines, Rahwan
/// and Rogers 2013, "Bounding the estimation error of sampling-based Shapley value approximation", arXiv 1306.4265;
/// with the samples allocated to the strata by their variance and cost: Castro, Gomez, Molina and Tejada 2017,
/// "Improving polynomial estimation of the Shapley value by stratified random sampling with optimum allocation",
/// Computers and Operations Research 82).
/// Why it is cheaper at large M: a marginal is large only at the first positions, and there it is cheap (a walk to
/// depth D costs about D^3 / 2 multiply-adds, a whole permutation M^3 / 2); the deep positions vary little and get
/// few samples. Position 0 is G({j}) - G(empty), the same every time, so its stratum has no variance at all.
/// </summary>
internal sealed class StratifiedSampler
{
    private readonly ICoalitionGame _game;
    private readonly int _sellers;
    private readonly double[][] _mean;   // [band][seller]
    private readonly double[][] _squaredDeviations;   // Welford's M2 per [band][seller]
    private readonly int[][] _count;
    private readonly int _threads;
    private readonly ICoalitionGame[] _games;   // one per thread: _game, then forks of it
    private readonly StratifiedDraw _draw;

    /// <summary>Most walks drawn ahead and then walked (on several threads when there are).</summary>
    private const int BatchWalks = 4096;

    public StratifiedSampler(ICoalitionGame game, SeededRandom rng, int threads = 1)
    {
        _game = game;
        _threads = Math.Max(1, threads);
        _games = new ICoalitionGame[_threads];
        _games[0] = game;
        _sellers = game.Sellers;
        _draw = new StratifiedDraw(_sellers, rng);
        Edges = BandEdges(_sellers);
        var bands = Edges.Length - 1;
        _mean = new double[bands][];
        _squaredDeviations = new double[bands][];
        _count = new int[bands][];
        for (var b = 0; b < bands; b++)
        {
            _mean[b] = new double[_sellers];
            _squaredDeviations[b] = new double[_sellers];
            _count[b] = new int[_sellers];
        }
        Cycles = new int[bands];
    }

    /// <summary>Band b holds positions [Edges[b], Edges[b + 1]).</summary>
    public int[] Edges { get; }

    public int Bands => Edges.Length - 1;

    /// <summary>Cycles run per band; a cycle gives every seller exactly one sample in the band.</summary>
    public int[] Cycles { get; }

    /// <summary>Walks made (each a permutation's prefix down to the end of one band).</summary>
    public long Walks { get; private set; }

    /// <summary>Coalition evaluations made, each weighted by its size squared: proportional to the multiply-adds.</summary>
    public double Work { get; private set; }

    /// <summary>Work and walks of the pilot that planned this sampler's allocation (0 when none).</summary>
    public double PilotWork { get; set; }

    public long PilotWalks { get; set; }

    /// <summary>
    /// 0, 1, 2, 3, 4, 6, 8, 12, 16, 24, ... (ratio 1.5 or 4/3) while at most M / 2, then M: narrow where the marginals
    /// vary most and cost least, one wide band over the deep half (a cycle of it is two walks).
    /// </summary>
    public static int[] BandEdges(int m)
    {
        var edges = new List<int> { 0 };
        if (m > 1) edges.Add(1);
        for (var p = 2; 2 * p <= m; p *= 2)
        {
            edges.Add(p);
            if (3 * p <= m) edges.Add(3 * p / 2);
        }
        edges.Add(m);
        return edges.ToArray();
    }

    /// <summary>Cost of one cycle of band b in work units (<see cref="Work"/>): ceil(M / w) walks to depth e_b+1.</summary>
    public double CycleCost(int b)
    {
        var w = Edges[b + 1] - Edges[b];
        return (double)((_sellers + w - 1) / w) * WalkCost(Edges[b + 1]);
    }

    /// <summary>
    /// sum over k &lt;= D of (k^2 + StepOverhead), plus WalkOverhead: a step of the walk costs about 1.5 k^2 multiply-adds
    /// and a fixed part (the pivot's square root, the gain, the spans); a walk draws its sellers. The constants make the
    /// CPU time per unit about even over the bands at M = 100 and 200 (`--profile-large` in tests/DataExchange.Benchmarks:
    /// 0.4 to 0.8 ns; with none, the first bands cost up to 20 times their k^2).
    /// </summary>
    internal static double WalkCost(int depth) => (double)depth * (depth + 1) * (2.0 * depth + 1) / 6.0 + StepOverhead * depth + WalkOverhead;

    private const double StepOverhead = 300.0;
    private const double WalkOverhead = 500.0;

    /// <summary>
    /// One cycle of band b: a uniform permutation tau cut into chunks of the band's width w; for each chunk a walk whose
    /// positions [e_b, e_b+1) hold the chunk (and, for a short last chunk, other sellers drawn uniformly) in random order,
    /// preceded by e_b sellers drawn uniformly from the rest. Every seller of the chunk thus sits at a uniform position in
    /// the band behind a uniform set of the others (the design is symmetric in the other sellers), which is the
    /// stratum's distribution; it is sampled once per cycle, so its samples are independent across cycles.
    /// </summary>
    public void Cycle(int b) => Run(b, Cycles[b] + 1, 0.0, double.PositiveInfinity);

    /// <summary>
    /// Cycles of band b until it has run <paramref name="cycles"/>, checking before each one that spent + Work is below
    /// <paramref name="maxWork"/>, as one cycle at a time would. The walks' orders are drawn first, in the one stream's
    /// order; the walks then run on any thread, each writing its marginals to its own slots; and the strata's means take
    /// them in walk order, so every number is the sequential one, bit for bit, at any thread count.
    /// </summary>
    public void Run(int b, int cycles, double spent, double maxWork)
    {
        var (start, end) = (Edges[b], Edges[b + 1]);
        var w = end - start;
        var perCycle = (_sellers + w - 1) / w;
        var n = 0;
        for (var work = Work; Cycles[b] + n < cycles && spent + work < maxWork; n++)
            for (var c = 0; c < perCycle; c++) work += WalkCost(end);
        var batch = Math.Max(1, BatchWalks / perCycle);
        for (var done = 0; done < n; done += batch)
        {
            var k = Math.Min(batch, n - done);
            var walks = k * perCycle;
            var orders = new int[walks * end];
            var inChunk = new bool[walks * w];
            for (var c = 0; c < k; c++) _draw.Cycle(start, end, orders.AsSpan(c * perCycle * end), inChunk.AsSpan(c * perCycle * w));
            var marginals = new double[walks * w];
            ParallelWork.For(walks, _threads, (i, worker) =>
                Walk(_games[worker] ??= _game.Fork(), orders.AsSpan(i * end, end), start, marginals.AsSpan(i * w, w)));
            for (var i = 0; i < walks; i++)
            {
                for (var p = 0; p < w; p++)
                    if (inChunk[i * w + p]) Add(b, orders[i * end + start + p], marginals[i * w + p]);
                Walks++;
                Work += WalkCost(end);
            }
            Cycles[b] += k;
        }
    }

    /// <summary>A walk down <paramref name="order"/>: the marginals at its band positions [start, end).</summary>
    private static void Walk(ICoalitionGame game, ReadOnlySpan<int> order, int start, Span<double> marginals)
    {
        game.Reset();
        var previous = game.EmptyGain;
        for (var i = 0; i < order.Length; i++)
        {
            var gain = game.Join(order[i], previous);
            if (i >= start) marginals[i - start] = gain - previous;
            previous = gain;
        }
    }

    private void Add(int b, int j, double x)
    {
        var n = ++_count[b][j];
        var d = x - _mean[b][j];
        _mean[b][j] += d / n;
        _squaredDeviations[b][j] += d * (x - _mean[b][j]);
    }

    /// <summary>Sample variance of seller j's marginals in band b (0 with fewer than two).</summary>
    public double Variance(int b, int j) => _count[b][j] > 1 ? _squaredDeviations[b][j] / (_count[b][j] - 1) : 0.0;

    /// <summary>phi_j = sum_b (w_b / M) mean_j(b): every band must have run at least one cycle.</summary>
    public double[] Estimate()
    {
        var phi = new double[_sellers];
        for (var b = 0; b < Bands; b++)
        {
            var weight = (double)(Edges[b + 1] - Edges[b]) / _sellers;
            for (var j = 0; j < _sellers; j++) phi[j] += weight * _mean[b][j];
        }
        return phi;
    }

    /// <summary>The estimated variance of seller j's estimate: sum_b (w_b / M)^2 V_j(b) / n_j(b).</summary>
    public double EstimateVariance(int j)
    {
        var v = 0.0;
        for (var b = 0; b < Bands; b++)
        {
            var weight = (double)(Edges[b + 1] - Edges[b]) / _sellers;
            if (_count[b][j] > 0) v += weight * weight * Variance(b, j) / _count[b][j];
        }
        return v;
    }

    /// <summary>Largest variance over the sellers in band b (the envelope the allocation plans for).</summary>
    public double MaxVariance(int b)
    {
        var v = 0.0;
        for (var j = 0; j < _sellers; j++) v = Math.Max(v, Variance(b, j));
        return v;
    }
}
