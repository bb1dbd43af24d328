using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>
/// A server that is not there: each command says so in one sentence with its documented exit code (dx help), never a
/// stack trace, and in seconds rather than hanging. The ports are closed (bound, then released) on this machine.
/// </summary>
public class UnreachableTests
{
    private static (int Code, string Out, string Err) Dx(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = Cli.Dx.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void NoStackTrace(string err)
    {
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Unhandled exception", err);
        Assert.DoesNotContain("--- End of", err);
    }

    [Fact]
    public void Watch_payouts_with_the_bus_unreachable_exits_7()
    {
        var port = ClosedPort();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = Dx("watch", "payouts", "--rabbitmq", $"amqp://dx:hidden-password@127.0.0.1:{port}/some-vhost");
        Assert.Equal(7, code);
        Assert.Contains($"cannot reach the bus (RabbitMQ): Broker unreachable: 127.0.0.1:{port}/some-vhost", err);
        Assert.DoesNotContain("hidden-password", err);
        NoStackTrace(err);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Market_run_with_the_bus_unreachable_exits_7_before_trading()
    {
        Environment.SetEnvironmentVariable("DX_KEY_SECRET", "unreachable-test-secret");
        var (code, output, err) = Dx("market", "run", "--sellers", "2", "--steps", "20", "--buyers", "2", "--no-progress",
            "--rabbitmq", $"amqp://dx:dx@127.0.0.1:{ClosedPort()}/", "--ingestion", $"http://127.0.0.1:{ClosedPort()}");
        Assert.Equal(7, code);
        Assert.Contains("cannot reach the bus (RabbitMQ)", err);
        Assert.DoesNotContain("Market Run Finished", output);
        NoStackTrace(err);
    }

    [Fact]
    public void Catching_up_with_the_payout_service_unreachable_exits_6()
    {
        // The bus check comes first and passes only with a broker, so this calls the catch-up client directly, as watch does.
        var port = ClosedPort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var catchUp = new DataExchange.Client.PayoutCatchUp(http, "seller-01", "seller:seller-01:x");
        var e = Assert.ThrowsAny<Exception>(() => catchUp.LinesAsync(0, null, CancellationToken.None).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        Assert.Equal(6, Failures.Report(e, stderr));
        Assert.Contains($"cannot reach a server over HTTP (Connection refused (127.0.0.1:{port}))", stderr.ToString());
        NoStackTrace(stderr.ToString());
    }

    [Fact]
    public void Audit_with_the_event_store_unreachable_exits_8()
    {
        var (code, _, err) = Dx("audit", "task", Guid.NewGuid().ToString(), "--postgres",
            $"Host=127.0.0.1;Port={ClosedPort()};Username=dx;Password=hidden-password;Database=dx;Timeout=5");
        Assert.Equal(8, code);
        Assert.Contains("the event store (PostgreSQL) failed", err);
        Assert.Contains("127.0.0.1", err);
        Assert.DoesNotContain("hidden-password", err);
        NoStackTrace(err);
    }

    [Theory]
    [InlineData("settlement", "--wait", "0")]
    [InlineData("latency", "--last", "10")]
    public void Report_with_the_event_store_unreachable_exits_8(string report, string option, string value)
    {
        var (code, _, err) = Dx("report", report, option, value, "--postgres",
            $"Host=127.0.0.1;Port={ClosedPort()};Username=dx;Password=dx;Database=dx;Timeout=5");
        Assert.Equal(8, code);
        NoStackTrace(err);
    }

    [Theory]
    [InlineData("--since", "-1", "--since: '-1' is not a cursor")]
    [InlineData("--since", "abc", "--since: 'abc' is not a cursor")]
    [InlineData("--from", "yesterday", "--from: 'yesterday' is not an ISO-8601")]
    public void A_bad_catch_up_start_is_a_usage_error(string option, string value, string message)
    {
        var (code, _, err) = Dx("watch", "payouts", "--seller", "seller-01", option, value, "--key", "k", "--rabbitmq", "amqp://dx:dx@127.0.0.1:1/");
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void Help_lists_the_exit_codes()
    {
        var (code, output, _) = Dx("help");
        Assert.Equal(0, code);
        foreach (var line in new[] { "5  not there yet", "6  a service unreachable", "7  the bus (RabbitMQ) unreachable", "8  the event store", "70 an unexpected failure" })
            Assert.Contains(line, output);
    }
}
