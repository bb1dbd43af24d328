using System.Collections.Concurrent;
using DataExchange.Contracts;

namespace DataExchange.Client;

/// <summary>Everything the market published about one task, as a participant hears it on the bus.</summary>
public sealed class TaskReport(Guid taskId)
{
    public Guid TaskId { get; } = taskId;
    public TaskAccepted? Accepted { get; set; }
    public BuyerCharged? Charged { get; set; }
    public PredictionDelivered? Prediction { get; set; }
    public TaskRejected? Rejected { get; set; }
    public TaskSettled? Settled { get; set; }
    public MarketPriceUpdated? PriceUpdate { get; set; }
    /// <summary>When this client published the task and when it heard the task settled (Stopwatch timestamps; 0 = not yet).</summary>
    public long PublishedAt { get; set; }
    public long SettledHeardAt { get; set; }
    public ConcurrentDictionary<string, SellerPaid> Payouts { get; } = new(StringComparer.Ordinal);
    /// <summary>The buyer this client published the task for.</summary>
    public string? BuyerId { get; set; }
    /// <summary>The task's result as read from allocation's log (MarketReconciler), when its messages were not heard.</summary>
    public BuyerResultView? Result { get; set; }
    /// <summary>The catch-up round in which its result was read (0 = none yet).</summary>
    public int ResultRound { get; set; }
    /// <summary>The catch-up round in which the first of its payment lines was read from the payout log (0 = none yet).</summary>
    public int FirstLineRound { get; set; }
    /// <summary>
    /// Accounted for from the logs (MarketReconciler): settled with every line read (the operator), or charged with its
    /// predictions (a buyer, whose business ends there).
    /// </summary>
    public bool Reconciled { get; set; }

    /// <summary>Settled and every seller's payout in (one per seller of the allocation).</summary>
    public bool SettledWithPayouts => Settled is not null && Accepted is not null && Payouts.Count == Accepted.Sellers;
    public bool Done(bool withPayouts) => Rejected is not null || Reconciled || (withPayouts ? SettledWithPayouts : Settled is not null);
}
