using BenchmarkDotNet.Attributes;
using DataExchange.Mechanism;

namespace DataExchange.Benchmarks;

/// <summary>
/// A market of 200 sellers with 4,000 steps (issue 16): one task end to end at K = 200, its parts (the noise draw, the
/// Gram blocks, PD_A* at K = 200) and PD_A* to the relative target r = 0.05 by whole permutations' rival, the
/// stratified sampler. `dotnet run -c Release -- --filter '*LargeMarket*'`. One core.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class LargeMarketBenchmarks
{
    private MarketScenario _scenario = null!;
    private MarketParameters _parameters = null!;
    private PriceGrid _grid = null!;
    private TaskGains _gains = null!;
    private NoiseMatrix _noise = null!;
    private int _next;

    [Params(200)]
    public int Sellers { get; set; }

    [Params(4000)]
    public int Steps { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scenario = SyntheticMarket.Generate(Sellers, Steps, 8, 42);
        _parameters = new MarketParameters { ExpectedTasks = 120, ShapleyPermutations = 200 };
        _grid = PriceGrid.Create(_parameters);
        _noise = NoiseMatrix.Draw(Sellers, Steps, 11);
        _gains = MarketTask.Gains(_scenario.Sellers, _scenario.Buyers[0].Target, 11, _parameters);
        TaskMoments.Compute(_scenario.Sellers, _scenario.Buyers[0].Target, _noise, _parameters); // the sellers' cache, as a market has it
    }

    /// <summary>One task end to end at K = 200 (noise, Gram blocks, RF* over the grid, predictions, PD_A*, PD_B*, split).</summary>
    [Benchmark]
    public TaskOutcome OneTaskK200()
    {
        var n = _next++ % _scenario.Buyers.Count;
        var buyer = _scenario.Buyers[n];
        var quote = new PriceQuote(n % _grid.Count, _grid.Prices[n % _grid.Count]);
        return MarketTask.Run(buyer.Id, _scenario.Sellers, buyer.Target, buyer.Valuation, quote, TaskSeeds.ForTask(7, n), _grid, _parameters);
    }

    [Benchmark]
    public NoiseMatrix NoiseDraw() => NoiseMatrix.Draw(Sellers, Steps, 13);

    /// <summary>The task's Gram blocks from a drawn noise matrix (the sellers' own blocks cached).</summary>
    [Benchmark]
    public TaskMoments GramBlocks() => TaskMoments.Compute(_scenario.Sellers, _scenario.Buyers[0].Target, _noise, _parameters);

    [Benchmark]
    public ShapleyEstimate ShapleyK200() => Shapley.MonteCarlo(_gains, 0.3, 200, 5);

    [Benchmark]
    public ShapleyEstimate ShapleyRelativeStratified() => Shapley.UntilRelativeStratified(_gains, 0.3, 0.05, 5);
}
