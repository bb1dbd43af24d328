using MassTransit;

namespace DataExchange.Contracts;

/// <summary>A seller joins the market. Registering the same id again is accepted once and ignored after.</summary>
/// <param name="SellerId">The seller's id: 1 to 64 letters, digits, '-', '_' or '.'.</param>
/// <param name="Name">A display name (optional).</param>
public sealed record RegisterSeller(string SellerId, string? Name = null);

/// <summary>
/// A seller appends observations to its feature series. <paramref name="FromStep"/> must equal the number of
/// observations the market already holds for the seller (0 for the first batch): a batch sent twice is accepted once.
/// </summary>
/// <param name="SellerId">A registered seller.</param>
/// <param name="FromStep">Index of the first value in the seller's series.</param>
/// <param name="Values">Finite numbers, at most <see cref="MarketLimits.MaxSeriesLength"/> per batch.</param>
/// <remarks>Carries raw features: travels on the market-internal exchange <see cref="MarketLimits.InternalExchangePrefix"/>*.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "append-feature-observations")]
public sealed record AppendFeatureObservations(string SellerId, long FromStep, double[] Values);

/// <summary>
/// A buyer's prediction task: the series it wants predicted over steps [FromStep, FromStep + Target.Length) of the
/// sellers' series, and its bid, what one unit of gain (prediction accuracy) is worth to it. Truthful bidding is optimal.
/// The same TaskId sent twice is accepted once.
/// </summary>
/// <param name="TaskId">Chosen by the buyer, unique per task.</param>
/// <param name="BuyerId">The buyer's id (same rules as a seller id).</param>
/// <param name="Bid">Value of one unit of gain, in (0, <see cref="MarketLimits.MaxBid"/>].</param>
/// <param name="Target">The series to predict: finite numbers, at least <see cref="MarketLimits.MinSeriesLength"/>.</param>
/// <param name="FromStep">Step of the sellers' series that Target[0] lines up with (default 0).</param>
/// <param name="Seed">
/// Must be absent: a task's random choices (price draw, noise, permutations) come from a seed the market draws itself,
/// so no buyer can search for a cheap price. A task that sets it is refused (field "seed"). Kept so that a program
/// written against an earlier version hears why, rather than having its seed silently ignored.
/// </param>
/// <param name="MarketId">Which market (pricing stream) the task trades in; "default" when absent.</param>
/// <param name="Kind">
/// "regression" (when absent) or "classification" (<see cref="TaskKinds"/>); it must be the kind the market trades, or the
/// task is refused (field "kind"). A classification task's Target holds class labels: integers, two to 50 classes.
/// </param>
public sealed record SubmitPredictionTask(
    Guid TaskId,
    string BuyerId,
    double Bid,
    double[] Target,
    long FromStep = 0,
    ulong? Seed = null,
    string? MarketId = null,
    string? Kind = null);

/// <summary>The kinds of prediction task, as <see cref="SubmitPredictionTask.Kind"/> and the market's terms spell them.</summary>
public static class TaskKinds
{
    /// <summary>A series of numbers to predict (the default).</summary>
    public const string Regression = "regression";
    /// <summary>Class labels to predict (integers); G from the held-out accuracy.</summary>
    public const string Classification = "classification";
}

/// <summary>
/// The operator opens a market with the mechanism's terms its tasks will trade and settle under (by HTTP on the pricing
/// service, <c>POST /markets</c>, with the operator's key; <c>dx markets open</c>). A market a task names before it was
/// opened opens with the pricing service's configured terms. Terms never change once a market is open.
/// </summary>
/// <param name="MarketId">The market's id (same rules as a seller id).</param>
/// <param name="Terms">The mechanism's terms; every service uses them for this market's tasks.</param>
/// <param name="Grid">The price grid (PF*'s experts); the pricing service's configured grid when absent.</param>
public sealed record OpenMarket(string MarketId, MechanismTerms Terms, PriceGridTerms? Grid = null);

/// <summary>Limits every participant can rely on; inputs outside them are refused with a reason.</summary>
public static class MarketLimits
{
    /// <summary>Shortest target a task may have: enough to train on 70% and score on the rest.</summary>
    public const int MinSeriesLength = 10;
    /// <summary>Longest series (and largest observation batch) accepted; keeps every message under about 2 MB.</summary>
    public const int MaxSeriesLength = 100_000;
    /// <summary>Largest bid accepted: far above the price grid (b_max = 2), so larger bids are mistakes.</summary>
    public const double MaxBid = 1_000_000;
    /// <summary>Longest seller, buyer or market id.</summary>
    public const int MaxIdLength = 64;
    /// <summary>
    /// Exchanges whose names start with this carry sellers' raw features; buyers' broker accounts get no read
    /// permission on them (RabbitMQ read regex <c>^(?!dataexchange\.internal\.).*</c>).
    /// </summary>
    public const string InternalExchangePrefix = "dataexchange.internal.";
    /// <summary>The market a task trades in when it names none.</summary>
    public const string DefaultMarket = "default";

    /// <summary>Why an id (seller, buyer or market) is refused, or null when it is valid: 1 to 64 letters, digits, '.', '_' or '-'.</summary>
    public static string? IdProblem(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return "is missing or empty";
        if (id.Length > MaxIdLength) return $"is {id.Length} characters long, at most {MaxIdLength} are allowed";
        foreach (var c in id)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return "may contain only letters, digits, '.', '_' and '-'";
        return null;
    }
}
