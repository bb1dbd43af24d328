using System.Runtime.ExceptionServices;

namespace DataExchange.Mechanism;

/// <summary>
/// The mechanism's large parts on several threads, with results that do not depend on the thread count or on the
/// scheduling: every parallel part computes numbers that are each a function of their index alone (a walk's marginals
/// from its pre-drawn permutation, a noise level's gain, a tile of a Gram block, a row of the noise), stores them in
/// their own slot, and whatever sums over them runs afterwards on one thread in the sequential order. So a recorded
/// task replays bit for bit at any <see cref="MarketParameters.Parallelism"/> (tests: ParallelTests).
/// </summary>
internal static class ParallelWork
{
    /// <summary>
    /// Fewest sellers for which a task's parts run in parallel. Measured on this 2-core machine beside other sessions'
    /// work (README, "Markets of hundreds of sellers"), one thread against two in alternating runs: at M = 64 and 100 two
    /// were no faster (at M = 100 slower in 8 of 11 pairs), at M = 128 and 200 mostly faster.
    /// </summary>
    public const int MinSellers = 128;

    /// <summary>Threads for a task with <paramref name="sellers"/> sellers: the market's parallelism from MinSellers on, else 1.</summary>
    public static int Threads(MarketParameters parameters, int sellers) => sellers >= MinSellers ? Math.Max(1, parameters.Parallelism) : 1;

    /// <summary>
    /// body(i, worker) for every i in [0, count), on up to <paramref name="threads"/> threads that take the next index
    /// as they come free (a busy core slows only the thread on it); worker is the thread's number in [0, threads), for
    /// its own scratch buffers. With one thread (or one index) a plain loop on the caller's thread. If a body throws, no
    /// further index is handed out and the call returns only when every worker has stopped (the bodies write the
    /// caller's buffers), then throws that exception itself, as the plain loop would, not wrapped in an AggregateException.
    /// </summary>
    public static void For(int count, int threads, Action<int, int> body)
    {
        threads = Math.Min(threads, count);
        if (threads <= 1)
        {
            for (var i = 0; i < count; i++) body(i, 0);
            return;
        }
        var next = -1;
        ExceptionDispatchInfo? failure = null;
        void Work(int worker)
        {
            try
            {
                int i;
                while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < count) body(i, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }
        // Workers 1.. on the thread pool, worker 0 on this thread; a worker that starts late finds fewer indices left.
        var others = new Task[threads - 1];
        for (var w = 1; w < threads; w++)
        {
            var worker = w;
            others[w - 1] = Task.Run(() => Work(worker));
        }
        Work(0);
        Task.WaitAll(others);
        failure?.Throw();
    }
}
