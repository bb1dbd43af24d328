using BenchmarkDotNet.Attributes;
using DataExchange.Mechanism;

namespace DataExchange.Benchmarks;

/// <summary>
/// The mechanism's per-task cost on the seed's shape: M = 20 sellers, T = 400 steps, K = 200 permutations,
/// a 15-point integral and the full price grid for N = 120 (22 prices). One core (the library is single-threaded).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MechanismBenchmarks
{
    private MarketScenario _scenario = null!;
    private MarketParameters _parameters = null!;
    private PriceGrid _grid = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _scenario = SyntheticMarket.Generate(20, 400, 120, 42);
        _parameters = new MarketParameters { ExpectedTasks = 120, ShapleyPermutations = 200, IntegralPoints = 15 };
        _grid = PriceGrid.Create(_parameters);
    }

    /// <summary>
    /// One task end to end: noise matrix, Gram moments, RF* at every grid price (the curve PF* needs), G(b),
    /// predictions, PD_A* (K = 200), PD_B* and the decimal split. Buyers and prices rotate so no one case is cached.
    /// </summary>
    [Benchmark]
    public TaskOutcome OneTask()
    {
        var n = _next++ % _scenario.Buyers.Count;
        var buyer = _scenario.Buyers[n];
        var seeds = TaskSeeds.ForTask(7, n);
        var quote = new PriceQuote(n % _grid.Count, _grid.Prices[n % _grid.Count]);
        return MarketTask.Run(buyer.Id, _scenario.Sellers, buyer.Target, buyer.Valuation, quote, seeds, _grid, _parameters);
    }

    /// <summary>Exact Shapley over all 2^20 coalitions for one task (the oracle).</summary>
    [Benchmark]
    public ShapleyEstimate ExactShapley20()
    {
        var buyer = _scenario.Buyers[0];
        var gains = MarketTask.Gains(_scenario.Sellers, buyer.Target, 11, _parameters);
        return Shapley.Exact(gains, 0.25);
    }

    /// <summary>The seed scenario end to end in process: 120 tasks with the pricer learning between them.</summary>
    [Benchmark]
    public decimal SimulateSeedScenario()
    {
        var market = new InProcessMarket(_scenario.Sellers, _parameters, 42);
        var total = 0m;
        foreach (var b in _scenario.Buyers) total += market.Run(b.Id, b.Target, b.Valuation).Allocation.Charge;
        return total;
    }
}
