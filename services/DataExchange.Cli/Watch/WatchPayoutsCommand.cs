using System.Globalization;
using System.Runtime.InteropServices;
using DataExchange.Cli.Market;
using DataExchange.Contracts;
using DataExchange.ServiceDefaults;
using MassTransit;

namespace DataExchange.Cli.Watch;

/// <summary>
/// <c>dx watch payouts</c>: a bus subscriber on a temporary queue of its own that prints each SellerPaid as it arrives
/// (time, task, seller, share, amount), optionally for one seller, until Ctrl+C or <c>--count</c> lines.
/// Delivery is at least once: a payout already printed (same task and seller) is not printed again.
/// With <c>--since CURSOR</c> or <c>--from TIME</c> it first catches up from the payout log (PayoutCatchUpOptions), then
/// goes on live; each line is printed once, those from the log with their cursor.
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
        var catchUp = PayoutCatchUpOptions.Parse(a, seller);
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
        var printed = 0;
        // Each line once, whether from the catch-up or live (the merge holds live lines back until the catch-up is done).
        var merge = new PayoutMerge(line =>
        {
            if (count > 0 && printed >= count) return false;
            var time = line.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{time}  task {line.TaskId}  seller {line.SellerId}  share {line.Share:R}  amount {line.Amount}{(line.Cursor is { } c ? $"  cursor {c}" : "")}"));
            stdout.Flush();
            if (++printed == count) stop.Cancel();
            return true;
        }, catchingUp: catchUp is not null);
        var cursor = catchUp?.After ?? 0;
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
                merge.Live(p, new DateTimeOffset((context.SentTime ?? DateTime.UtcNow).ToUniversalTime(), TimeSpan.Zero));
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
            await BusReachability.CheckAsync(rabbit, TimeSpan.FromSeconds(10), stop.Token);
            await bus.StartAsync(stop.Token);
            // Subscribed first, then the catch-up: a line settled in between is in one or both, never in neither.
            if (catchUp is not null) cursor = await catchUp.CatchUpAsync(merge, () => stop.IsCancellationRequested, stop.Token);
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
        if (catchUp is not null)
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                cursor = await catchUp.ResumePointAsync(merge, cursor, brief.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or MarketRefusedException)
            {
                // The lines heard live after this cursor will be shown again on resume (dedupe by task and seller).
            }
            stderr.WriteLine($"dx: resume with --since {cursor}");
        }
        return 0;
    }
}
