using System.Globalization;
using System.Runtime.InteropServices;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch payouts</c>: a bus subscriber on a temporary queue of its own that prints each SellerPaid as it arrives
/// (time, task, seller, share, amount), optionally for one seller, until Ctrl+C or <c>--count</c> lines.
/// Delivery is at least once: a payout already printed (same task and seller) is not printed again.
/// </summary>
public static class WatchPayoutsCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = new Arguments(args, new HashSet<string>());
        var seller = a.String("--seller");
        var count = a.Int("--count", 0, 0);
        var rabbit = RabbitMqOption.From(a);
        a.RejectUnknown();

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Ctrl+C (SIGINT) and SIGTERM end the watch cleanly instead of killing the process.
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        var seen = new HashSet<(Guid, string)>();
        var printed = 0;
        var gate = new object();
        // A seller's own account (the URI dx participants add printed) reads its own durable queue: what arrived while it was
        // away too. The operator's account watches the deliveries to one seller or all of them on a temporary queue.
        var account = Uri.UnescapeDataString(new Uri(rabbit).UserInfo.Split(':')[0]);
        var participant = account.StartsWith("seller.", StringComparison.Ordinal) ? account["seller.".Length..] : null;
        if (participant is not null && seller is not null && seller != participant)
            throw new UsageException($"--seller: this account is seller '{participant}', which sees only its own payouts");
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(new Uri(rabbit));
            BusJson.Configure(cfg);
            void Configure(IRabbitMqReceiveEndpointConfigurator e) => e.Handler<SellerPaid>(context =>
            {
                var p = context.Message;
                if (seller is not null && !string.Equals(p.SellerId, seller, StringComparison.Ordinal)) return Task.CompletedTask;
                lock (gate)
                {
                    if ((count > 0 && printed >= count) || !seen.Add((p.TaskId, p.SellerId))) return Task.CompletedTask;
                    var time = (context.SentTime ?? DateTime.UtcNow).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{time}  task {p.TaskId}  seller {p.SellerId}  share {p.Share:R}  amount {p.Amount}"));
                    stdout.Flush();
                    if (++printed == count) stop.Cancel();
                }
                return Task.CompletedTask;
            });
            if (participant is not null)
            {
                cfg.OverrideDefaultBusEndpointQueueName($"{ParticipantBus.Queue("seller", participant)}.bus-{Guid.NewGuid():N}");
                cfg.ReceiveEndpoint(ParticipantBus.Queue("seller", participant), e =>
                {
                    e.ConfigureConsumeTopology = false;
                    Configure(e);
                });
            }
            else
                cfg.ReceiveEndpoint(new TemporaryEndpointDefinition(), e =>
                {
                    e.ConfigureConsumeTopology = false;
                    e.Bind(ParticipantBus.Deliveries, b =>
                    {
                        b.ExchangeType = "topic";
                        b.RoutingKey = seller is null ? "seller.#" : ParticipantBus.RoutingKey("seller", seller);
                    });
                    Configure(e);
                });
        });
        try
        {
            await bus.StartAsync(stop.Token);
            stderr.WriteLine($"dx: watching payouts{(seller is null ? "" : $" of seller {seller}")} on {new Uri(rabbit).Host} (Ctrl+C to stop)");
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl+C, --count reached, or the caller's token.
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
        stderr.WriteLine($"dx: stopped watching after {printed} payout(s)");
        return 0;
    }
}
