using DataExchange.Mechanism;
using DataExchange.Settings;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>A service's own cap on the threads of one large task (Market:Parallelism), whatever terms the task recorded.</summary>
public sealed class ServiceParallelismTests
{
    private static MarketSettings Settings(string? parallelism) => MarketSettings.From(new ConfigurationBuilder()
        .AddInMemoryCollection(parallelism is null ? [] : [new KeyValuePair<string, string?>("Market:Parallelism", parallelism)]).Build());

    // Watched failing (2026-12-02): with Terms.OfMarket building from MarketParameters.Default alone, a task with recorded
    // terms ran on every core whatever the service was configured with.
    [Fact]
    public void A_task_with_recorded_terms_uses_the_services_thread_count()
    {
        var recorded = Terms.Record(MarketParameters.Default with { ShapleyPermutations = 50 });
        var settings = Settings("1");
        Assert.Equal(1, settings.Parameters.Parallelism);
        var parameters = Terms.OfMarket(recorded, settings);
        Assert.Equal(1, parameters.Parallelism);
        Assert.Equal(50, parameters.ShapleyPermutations); // the numbers still come from the task's terms
        Assert.Equal(3, Terms.OfMarket(recorded, Settings("3")).Parallelism);
    }

    [Fact]
    public void Without_the_setting_a_service_uses_every_core_and_a_bad_count_is_refused()
    {
        Assert.Equal(Environment.ProcessorCount, Settings(null).Parameters.Parallelism);
        var e = Assert.ThrowsAny<ArgumentException>(() => Settings("0"));
        Assert.Contains("Parallelism", e.Message);
    }
}
