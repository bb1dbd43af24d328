namespace DataExchange.Mechanism;

/// <summary>
/// A whole market in process: one pricer state carried from task to task. Immutable steps; the state is the
/// fold of the revenue curves, as the pricing service's event stream is.
/// </summary>
public sealed class InProcessMarket
{
    public InProcessMarket(FeatureSet sellers, MarketParameters parameters, ulong seed)
    {
        Sellers = sellers;
        Parameters = parameters.Validate();
        Seed = seed;
        Grid = PriceGrid.Create(parameters);
        State = PricerState.Initial(Grid);
    }

    public FeatureSet Sellers { get; }
    public MarketParameters Parameters { get; }
    public ulong Seed { get; }
    public PriceGrid Grid { get; }
    public PricerState State { get; private set; }
    public long TasksRun { get; private set; }

    /// <summary>quote -> AF* -> RF* -> PF* update -> PD_A* -> PD_B* -> payout, for the next task, seeded from the market seed.</summary>
    public TaskOutcome Run(string buyerId, double[] target, double bid, Action<TaskPhase>? phaseDone = null)
        => Run(buyerId, target, bid, TaskSeeds.ForTask(Seed, TasksRun), phaseDone);

    /// <summary>The next task with the seeds a market recorded for it (replaying the services' log in process).</summary>
    public TaskOutcome Run(string buyerId, double[] target, double bid, TaskSeeds seeds, Action<TaskPhase>? phaseDone = null)
    {
        var quote = MultiplicativeWeightsPricer.Quote(State, Grid, seeds.Price);
        var outcome = MarketTask.Run(buyerId, Sellers, target, bid, quote, seeds, Grid, Parameters, phaseDone);
        State = MultiplicativeWeightsPricer.Update(State, Grid, outcome.Allocation.RevenueCurve);
        TasksRun++;
        return outcome;
    }
}
