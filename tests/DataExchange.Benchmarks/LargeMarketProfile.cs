using System.Diagnostics;
using System.Globalization;
using DataExchange.Mechanism;

namespace DataExchange.Benchmarks;

/// <summary>
/// `dotnet run -c Release -- --profile-large [M] [T] [threads] [parts]`: where one task's time goes at M sellers and T steps
/// (default 200 x 4000, threads the processor count), by stopwatch over a few tasks after a warm-up: the noise draw, the
/// Gram blocks, RF* and the curve, and PD_A* at K = 200. A profile for finding the largest share, not a benchmark: the
/// BenchmarkDotNet figures are LargeMarketBenchmarks. Times are this process's CPU time, which a busy machine
/// disturbs much less than the wall clock, and the wall clock (what several threads shorten). With `parts`, only
/// those four parts (not the stratified sampler's bands and runs).
/// </summary>
public static class LargeMarketProfile
{
    /// <summary>A stopwatch over the process's CPU time (all its threads).</summary>
    private sealed class CpuClock
    {
        private TimeSpan _start;
        public void Restart() => _start = Environment.CpuUsage.TotalTime;
        public TimeSpan Elapsed => Environment.CpuUsage.TotalTime - _start;
    }

    public static void Run(TextWriter o, int sellers, int steps, int threads, bool partsOnly)
    {
        var scenario = SyntheticMarket.Generate(sellers, steps, 30, 42);
        var p = MarketParameters.Default with { Parallelism = threads };
        var grid = PriceGrid.Create(p);
        var sw = new CpuClock();
        var wall = new Stopwatch();
        var cpu = new double[4];
        var wallMs = new double[4];
        var tasks = sellers <= 50 ? 30 : sellers <= 100 ? 8 : 3;
        for (var t = -1; t < tasks; t++)
        {
            var buyer = scenario.Buyers[Math.Max(t, 0)];
            var parts = new double[5];
            var walls = new double[5];
            sw.Restart();
            wall.Restart();
            var noise = NoiseMatrix.Draw(sellers, steps, (ulong)(t + 10), ParallelWork.Threads(p, sellers));
            (parts[1], walls[1]) = (sw.Elapsed.TotalMilliseconds, wall.Elapsed.TotalMilliseconds);
            var m = TaskMoments.Compute(scenario.Sellers, buyer.Target, noise, p);
            (parts[2], walls[2]) = (sw.Elapsed.TotalMilliseconds, wall.Elapsed.TotalMilliseconds);
            var gains = new TaskGains(m, p);
            gains.RevenueCurve(grid, buyer.Valuation);
            (parts[3], walls[3]) = (sw.Elapsed.TotalMilliseconds, wall.Elapsed.TotalMilliseconds);
            Shapley.MonteCarlo(gains, 0.3, 200, (ulong)t);
            (parts[4], walls[4]) = (sw.Elapsed.TotalMilliseconds, wall.Elapsed.TotalMilliseconds);
            if (t < 0) continue;
            for (var i = 0; i < 4; i++)
            {
                cpu[i] += parts[i + 1] - parts[i];
                wallMs[i] += walls[i + 1] - walls[i];
            }
        }
        foreach (var (name, v) in new[] { ("CPU", cpu), ("wall", wallMs) })
            o.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "M = {0}, T = {1}, threads {2}, {3} per task: noise draw {4:F1} ms, Gram blocks {5:F1} ms, RF* and curve {6:F1} ms, Shapley K = 200 {7:F1} ms, sum {8:F1} ms",
                sellers, steps, threads, name, v[0] / tasks, v[1] / tasks, v[2] / tasks, v[3] / tasks, v.Sum() / tasks));
        if (partsOnly) return;
        {
            var gains = MarketTask.Gains(scenario.Sellers, scenario.Buyers[0].Target, 10, p);
            var smp = new StratifiedSampler(new CoalitionWalker(gains.System(0.3)), new SeededRandom(1));
            for (var b = 0; b < smp.Bands; b++)
            {
                smp.Cycle(b);
                sw.Restart();
                var reps = Math.Max(1, (int)(3e8 / smp.CycleCost(b)));
                for (var r = 0; r < reps; r++) smp.Cycle(b);
                var ns = sw.Elapsed.TotalMilliseconds * 1e6 / reps;
                o.WriteLine(string.Format(CultureInfo.InvariantCulture, "  band [{0}, {1}): cycle {2:F0} us, {3:F2} ns per work unit, max variance {4:E2}",
                    smp.Edges[b], smp.Edges[b + 1], ns / 1000, ns / smp.CycleCost(b), smp.MaxVariance(b)));
            }
        }
        for (var t = 0; t < Math.Min(tasks, 3); t++)
        {
            var buyer = scenario.Buyers[t];
            var gains = MarketTask.Gains(scenario.Sellers, buyer.Target, (ulong)(t + 10), p);
            foreach (var s in new[] { 0.0, 0.3 })
            {
                sw.Restart();
                var e = Shapley.UntilRelativeStratified(gains, s, 0.05, (ulong)t);
                o.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "  relative r = 0.05, stratified, noise {0}: {1:F1} ms, {2} walks, work {3:F1} whole walks", s, sw.Elapsed.TotalMilliseconds, e.Permutations, e.Work));
            }
        }
    }
}
