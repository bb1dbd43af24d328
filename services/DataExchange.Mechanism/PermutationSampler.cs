namespace DataExchange.Mechanism;

/// <summary>
/// Permutation walks with running means and variances of each seller's marginal gain (Welford), one sample per walk;
/// or, antithetic, one sample per pair: a uniform permutation and its reverse, the sample being the average of the
/// seller's two marginals. Each of the two is a uniform permutation, so the average is unbiased; a seller early in
/// one is late in the other, and marginals fall with position, so the two are negatively correlated and the pair
/// varies less than two independent walks (antithetic permutations: Illes and Kerenyi 2019, "Estimation of the
/// Shapley value by ergodic sampling", arXiv 1906.05224; Mitchell, Cooper, Frank and Holmes 2022, "Sampling
/// permutations for Shapley value estimation", JMLR 23). Pairs are independent of each other, so the sample
/// variance over pairs is what a stopping rule may use; over single walks it would not be.
/// </summary>
internal sealed class PermutationSampler
{
    /// <summary>
    /// Most walks whose permutations are drawn ahead and then walked, on several threads when there are. Large, because
    /// every batch ends by waiting for its last walk: on a busy machine a worker descheduled in mid-walk holds up the batch
    /// for a time slice (K = 200 is one batch).
    /// </summary>
    private const int Batch = 256;

    private readonly ICoalitionGame _game;
    private readonly SeededRandom _rng;
    private readonly int[] _order;
    private readonly double[] _mean;
    private readonly double[] _squaredDeviations;   // Welford's M2: sum of squared deviations from the running mean
    private readonly bool _antithetic;
    private readonly double _empty;
    private readonly int _threads;
    private readonly ICoalitionGame[] _games;       // one per thread: _game, then forks of it
    private int[]? _orders;                         // a batch's permutations, walk i at [i M, (i + 1) M)
    private double[]? _slots;                       // walk i's sample for seller j at i M + j
    private int _samples;

    /// <summary><paramref name="threads"/>: how many walks may run at once (1: all on the caller's thread); the results are the same bits.</summary>
    public PermutationSampler(ICoalitionGame game, ulong seed, bool antithetic = false, int threads = 1)
    {
        _game = game;
        _rng = new SeededRandom(seed);
        _order = Enumerable.Range(0, game.Sellers).ToArray();
        _mean = new double[game.Sellers];
        _squaredDeviations = new double[game.Sellers];
        _antithetic = antithetic;
        _empty = game.EmptyGain;
        _threads = Math.Max(1, threads);
        _games = new ICoalitionGame[_threads];
        _games[0] = game;
    }

    public int Permutations => _antithetic ? 2 * _samples : _samples;

    /// <summary>One sample: a walk, or an antithetic pair.</summary>
    public void Walk() => Walk(1);

    /// <summary>
    /// <paramref name="count"/> samples. Their permutations are drawn first, in walk order from the one stream; the walks
    /// then run on any thread, each writing its marginals to its own slot; and the running means and variances take the
    /// slots in walk order, so every seller's sums are the sequential ones, bit for bit, whatever the threads did.
    /// </summary>
    public void Walk(int count)
    {
        var m = _order.Length;
        _orders ??= new int[Batch * m];
        _slots ??= new double[Batch * m];
        for (var done = 0; done < count; done += Batch)
        {
            var n = Math.Min(Batch, count - done);
            // Each walk shuffles the previous order: still a uniform permutation, and one stream of the seed.
            for (var i = 0; i < n; i++)
            {
                _rng.Shuffle(_order);
                _order.CopyTo(_orders, i * m);
            }
            ParallelWork.For(n, _threads, (i, worker) => Sample(_games[worker] ??= _game.Fork(), i));
            for (var i = 0; i < n; i++)
            {
                _samples++;
                for (var j = 0; j < m; j++) Add(j, _slots[i * m + j]);
            }
        }
    }

    /// <summary>Walk i of the batch: each seller's marginal, or for a pair the average of its two (the reverse walk second).</summary>
    private void Sample(ICoalitionGame game, int i)
    {
        var m = _order.Length;
        var order = _orders!.AsSpan(i * m, m);
        var slot = _slots!.AsSpan(i * m, m);
        game.Reset();
        var previous = _empty;
        foreach (var j in order)
        {
            var gain = game.Join(j, previous);
            slot[j] = gain - previous;
            previous = gain;
        }
        if (!_antithetic) return;
        game.Reset();
        var last = _empty;
        for (var r = m - 1; r >= 0; r--)
        {
            var j = order[r];
            var gain = game.Join(j, last);
            slot[j] = 0.5 * (slot[j] + (gain - last));
            last = gain;
        }
    }

    private void Add(int j, double x)
    {
        var d = x - _mean[j];
        _mean[j] += d / _samples;
        _squaredDeviations[j] += d * (x - _mean[j]);
    }

    public double[] Means() => (double[])_mean.Clone();

    public double Variance(int j) => _samples > 1 ? _squaredDeviations[j] / (_samples - 1) : 0.0;
}
