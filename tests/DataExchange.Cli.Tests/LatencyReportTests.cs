using DataExchange.Reports;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary><c>dx report latency</c>'s summary: nearest-rank percentiles per leg, and a leg no task reached shown as such.</summary>
public sealed class LatencyReportTests
{
    // Mutations watched failing: the rank without the "- 1" (p50 of 1..100 = 51); the price update counted over every task.
    [Fact]
    public void Each_leg_has_its_nearest_rank_percentiles_and_its_own_count()
    {
        // Task n (1..100) takes n ms in every leg and 5n in all; only the even tasks' price updates have landed.
        var tasks = Enumerable.Range(1, 100)
            .Select(n => new TaskLegs(Guid.NewGuid(), n, n, n, n % 2 == 0 ? n : null, 5.0 * n))
            .Reverse().ToList();
        var legs = LatencyReport.Summarise(tasks);
        Assert.Equal(5, legs.Count);
        foreach (var leg in legs.Take(3))
            Assert.Equal((100, 50.0, 99.0, 100.0), (leg.Tasks, leg.P50, leg.P99, leg.Max));
        Assert.Equal((50, 50.0, 100.0, 100.0), (legs[3].Tasks, legs[3].P50, legs[3].P99, legs[3].Max));
        Assert.Equal((100, 250.0, 495.0, 500.0), (legs[4].Tasks, legs[4].P50, legs[4].P99, legs[4].Max));
    }

    [Fact]
    public void A_leg_no_task_reached_shows_a_dash_and_no_tasks_says_so()
    {
        var text = LatencyReport.Render([new TaskLegs(Guid.NewGuid(), 1.24, 2, 3, null, 7)], "m1");
        Assert.Contains("of market m1", text);
        var update = text.Split('\n').Single(l => l.StartsWith("charged -> price updated", StringComparison.Ordinal));
        Assert.Equal(["0", "-", "-", "-"], update[60..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var priced = text.Split('\n').Single(l => l.StartsWith("submitted -> priced", StringComparison.Ordinal));
        Assert.Equal(["1", "1.2", "1.2", "1.2"], priced[60..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("No settled task of market m2 in the services' event logs.\n", LatencyReport.Render([], "m2"));
    }
}
