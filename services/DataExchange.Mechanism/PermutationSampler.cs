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
    private readonly ICoalitionGame _game;
    private readonly SeededRandom _rng;
    private readonly int[] _order;
    private readonly double[] _mean;
    private readonly double[] _squaredDeviations;   // Welford's M2: sum of squared deviations from the running mean
    private readonly double[]? _first;
    private readonly double _empty;
    private int _samples;

    public PermutationSampler(ICoalitionGame game, ulong seed, bool antithetic = false)
    {
        _game = game;
        _rng = new SeededRandom(seed);
        _order = Enumerable.Range(0, game.Sellers).ToArray();
        _mean = new double[game.Sellers];
        _squaredDeviations = new double[game.Sellers];
        _first = antithetic ? new double[game.Sellers] : null;
        _empty = game.EmptyGain;
    }

    public int Permutations => _first is null ? _samples : 2 * _samples;

    public void Walk()
    {
        // Each walk shuffles the previous order: still a uniform permutation, and one stream of the seed.
        _rng.Shuffle(_order);
        _samples++;
        if (_first is null)
        {
            _game.Reset();
            var previous = _empty;
            foreach (var j in _order)
            {
                var gain = _game.Join(j, previous);
                Add(j, gain - previous);
                previous = gain;
            }
            return;
        }
        Marginals(_first);
        _game.Reset();
        var last = _empty;
        for (var i = _order.Length - 1; i >= 0; i--)
        {
            var j = _order[i];
            var gain = _game.Join(j, last);
            Add(j, 0.5 * (_first[j] + (gain - last)));
            last = gain;
        }
    }

    private void Marginals(double[] into)
    {
        _game.Reset();
        var previous = _empty;
        foreach (var j in _order)
        {
            var gain = _game.Join(j, previous);
            into[j] = gain - previous;
            previous = gain;
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
