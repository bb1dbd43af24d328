using System.Collections.Concurrent;
using System.Net.Http.Json;
using DataExchange.Contracts;
using MassTransit;

namespace DataExchange.Client;

/// <summary>
/// A participant's program: registers sellers over HTTP, publishes buyer tasks onto the bus and listens to what the
/// market publishes (prices, charges, payouts, settlements, refusals) on a temporary queue of its own.
/// </summary>
public sealed class MarketClient : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<Guid, TaskReport> _tasks = new();
    private readonly SemaphoreSlim _signal = new(0);

    private MarketClient(IBusControl bus, HttpClient http, bool payouts)
    {
        _bus = bus;
        _http = http;
        WatchesPayouts = payouts;
    }

    /// <summary>Whether this client subscribes to sellers' payouts (and the per-task prices and predictions), or only to settlements.</summary>
    public bool WatchesPayouts { get; }

    /// <param name="payouts">
    /// Subscribe to every seller's payout and every price and prediction (what the main job shows), or only to
    /// settlements and refusals (and price updates unless <paramref name="priceUpdates"/> is false): a lighter observer,
    /// as the throughput benchmark uses.
    /// </param>
    /// <param name="priceUpdates">Subscribe to MarketPriceUpdated (needed to trade one task at a time; a burst that only
    /// watches settlements can do without).</param>
    public static async Task<MarketClient> ConnectAsync(string rabbitMq, string ingestionUrl, CancellationToken ct, bool payouts = true,
        bool priceUpdates = true)
    {
        MarketClient? client = null;
        // The operator's view: everything the market sends any participant (routing key #). Lighter observers take only
        // the buyers' messages (settlements, refusals, price updates), not every seller's payout.
        var bus = MarketBus.Create(rabbitMq, new MarketBus.Deliveries(payouts ? "#" : "buyer.#"), e =>
        {
            e.PrefetchCount = 256;
            Handle(e, () => client!, payouts || priceUpdates, payouts);
        });
        client = new MarketClient(bus, new HttpClient { BaseAddress = new Uri(ingestionUrl), Timeout = TimeSpan.FromSeconds(60) }, payouts);
        await bus.StartAsync(ct);
        return client;
    }

    /// <summary>
    /// A participant's client: its own account (the AMQP URI <c>dx participants add</c> printed), its own durable queue,
    /// and for a buyer its own task exchange. It receives exactly what the market sends it, including what arrived while
    /// it was away; a buyer's tasks are taken in its own name only.
    /// </summary>
    public static async Task<MarketClient> ConnectAsParticipantAsync(string participantUri, string role, string id, string ingestionUrl,
        CancellationToken ct)
    {
        MarketClient? client = null;
        var bus = MarketBus.Create(participantUri, new MarketBus.OwnQueue(role, id), e => Handle(e, () => client!, true, true));
        // A buyer's task is done when it is settled: the sellers' payouts are theirs, never the buyer's.
        client = new MarketClient(bus, new HttpClient { BaseAddress = new Uri(ingestionUrl), Timeout = TimeSpan.FromSeconds(60) }, false)
            { _submitExchange = role == "buyer" ? ParticipantBus.SubmitExchange(id) : null };
        await bus.StartAsync(ct);
        return client;
    }

    private static void Handle(IReceiveEndpointConfigurator e, Func<MarketClient> client, bool priceUpdates, bool all)
    {
        e.Handler<TaskRejected>(c => client().On(c.Message.TaskId, r => r.Rejected = c.Message));
        e.Handler<TaskAccepted>(c => client().On(c.Message.TaskId, r => r.Accepted = c.Message));
        e.Handler<TaskSettled>(c => client().On(c.Message.TaskId, r =>
        {
            r.Settled = c.Message;
            if (r.SettledHeardAt == 0) r.SettledHeardAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }));
        if (priceUpdates) e.Handler<MarketPriceUpdated>(c => client().On(c.Message.TaskId, r => r.PriceUpdate = c.Message));
        if (!all) return;
        e.Handler<BuyerCharged>(c => client().On(c.Message.TaskId, r => r.Charged = c.Message));
        e.Handler<PredictionDelivered>(c => client().On(c.Message.TaskId, r => r.Prediction = c.Message));
        e.Handler<SellerPayouts>(async c =>
        {
            // One message per seller per settlement batch; each line once per task (a line can arrive again after a fault).
            client().PayoutBatches.Enqueue(c.Message);
            foreach (var line in c.Message.Lines)
                await client().On(line.TaskId, r => r.Payouts.TryAdd(line.SellerId, line));
        });
        e.Handler<MarketPriceChanged>(c => { client().OnPublic(c.Message); return Task.CompletedTask; });
    }

    private string? _submitExchange;

    /// <summary>The sellers' payout messages as they arrived (one per seller per settlement batch).</summary>
    public ConcurrentQueue<SellerPayouts> PayoutBatches { get; } = new();

    /// <summary>Every message this client received, by type (what a participant's own queue delivered).</summary>
    public ConcurrentQueue<object> Received { get; } = new();

    private void OnPublic(object message) => Received.Enqueue(message);

    public IBus Bus => _bus;

    private Task On(Guid taskId, Action<TaskReport> update)
    {
        Received.Enqueue(taskId);
        var report = _tasks.GetOrAdd(taskId, id => new TaskReport(id));
        lock (report) update(report);
        _signal.Release();
        return Task.CompletedTask;
    }

    public TaskReport Report(Guid taskId) => _tasks.GetOrAdd(taskId, id => new TaskReport(id));

    /// <summary>Registers a seller and sends its whole series with the seller's key (HTTP answers at once; both are idempotent).</summary>
    public async Task RegisterSellerAsync(string id, double[] values, string key, CancellationToken ct)
    {
        await Expect(await Post("/sellers", new RegisterSeller(id), key, ct), $"register {id}", ct);
        await Expect(await Post($"/sellers/{id}/observations", new { fromStep = 0, values }, key, ct), $"observations of {id}", ct);
    }

    private Task<HttpResponseMessage> Post<T>(string path, T body, string key, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add(ParticipantBus.KeyHeader, key);
        return _http.SendAsync(request, ct);
    }

    private static async Task Expect(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        throw new InvalidOperationException($"{what}: HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>Publishes a task onto the bus (ingestion consumes SubmitPredictionTask).</summary>
    public async Task SubmitAsync(SubmitPredictionTask task, CancellationToken ct)
    {
        var report = Report(task.TaskId);
        lock (report)
        {
            report.PublishedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            report.BuyerId = task.BuyerId;
        }
        if (_submitExchange is null) await _bus.Publish(task, ct);
        else await (await _bus.GetSendEndpoint(new Uri($"exchange:{_submitExchange}"))).Send(task, ct);
    }

    /// <summary>Waits until <paramref name="done"/> holds for the task or the timeout passes.</summary>
    public async Task<TaskReport> WaitAsync(Guid taskId, Func<TaskReport, bool> done, TimeSpan timeout, CancellationToken ct)
    {
        var report = Report(taskId);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (report)
                if (done(report)) return report;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"task {taskId} did not finish within {timeout.TotalSeconds:0} s");
            await _signal.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200), ct);
        }
    }

    /// <summary>
    /// Waits until every task is done (settled with all payouts, or rejected); reports progress as they finish. When
    /// <paramref name="reconcile"/> is given and nothing was heard for <paramref name="quiet"/>, it is asked to account for
    /// the pending tasks from the market's logs (messages a broker outage dropped never come), and once more at the timeout.
    /// </summary>
    public async Task WaitAllAsync(IReadOnlyCollection<Guid> taskIds, TimeSpan timeout, Action<int>? progress, CancellationToken ct,
        Func<IReadOnlyCollection<Guid>, CancellationToken, Task>? reconcile = null, TimeSpan? quiet = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pending = taskIds.ToHashSet();
        var last = -1;
        var lastProgress = DateTime.UtcNow;
        var finalRound = false;
        while (true)
        {
            pending.RemoveWhere(id => { var r = Report(id); lock (r) return r.Done(WatchesPayouts); });
            var done = taskIds.Count - pending.Count;
            if (done != last)
            {
                progress?.Invoke(done);
                lastProgress = DateTime.UtcNow;
            }
            last = done;
            if (pending.Count == 0) return;
            var left = deadline - DateTime.UtcNow;
            if (reconcile is not null && (DateTime.UtcNow - lastProgress >= (quiet ?? TimeSpan.FromSeconds(5)) || (left <= TimeSpan.Zero && !finalRound)))
            {
                finalRound = left <= TimeSpan.Zero;
                try
                {
                    await reconcile(pending.ToList(), ct);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or MarketRefusedException && !ct.IsCancellationRequested)
                {
                    // The services may be restarting too: the next quiet spell tries again.
                }
                lastProgress = DateTime.UtcNow;
                continue;
            }
            if (left <= TimeSpan.Zero) throw new TimeoutException($"{pending.Count} of {taskIds.Count} tasks not finished within {timeout.TotalSeconds:0} s");
            // Wake on the next message, at most every 50 ms, then drain the signals that piled up meanwhile. Any message
            // heard means the bus is flowing: the quiet spell that calls for the logs is one without any.
            if (await _signal.WaitAsync(TimeSpan.FromMilliseconds(50), ct)) lastProgress = DateTime.UtcNow;
            while (_signal.CurrentCount > 0 && _signal.Wait(0)) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        _http.Dispose();
    }
}
