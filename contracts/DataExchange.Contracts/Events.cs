using MassTransit;

namespace DataExchange.Contracts;

/// <summary>A seller was registered.</summary>
public sealed record SellerRegistered(string SellerId, string? Name, DateTimeOffset RegisteredAt);

/// <summary>Observations were appended to a seller's series (steps FromStep .. FromStep + Count - 1).</summary>
/// <remarks>Market-internal: it carries raw features, so it is never delivered to buyers.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "feature-observations-appended")]
public sealed record FeatureObservationsAppended(string SellerId, long FromStep, double[] Values);

/// <summary>
/// A buyer's task was accepted. Records what the buyer decided: the bid, the target, the window of the sellers'
/// series, and which sellers' data it will use (those covering the window when it was accepted, in id order). The
/// task's randomness is drawn later by the market (TaskPriced.Seed). <paramref name="Kind"/> is "classification" for a
/// task of class labels, null for regression; the market refuses a task of another kind than it trades.
/// </summary>
/// <remarks>Market-internal: it carries the buyer's target and bid.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "task-submitted")]
public sealed record TaskSubmitted(
    Guid TaskId,
    string MarketId,
    string BuyerId,
    double Bid,
    double[] Target,
    long FromStep,
    string[] SellerIds,
    DateTimeOffset SubmittedAt,
    string? Kind = null);

/// <summary>A buyer's task was refused: <paramref name="Field"/> names what was wrong and <paramref name="Reason"/> why.</summary>
public sealed record TaskRejected(Guid TaskId, string? BuyerId, string Field, string Reason, DateTimeOffset RejectedAt);

/// <summary>A seller command was refused (unknown seller, bad values...).</summary>
public sealed record SellerCommandRejected(string? SellerId, string Command, string Field, string Reason, DateTimeOffset RejectedAt);

/// <summary>The price grid of a market (PF*'s experts): eps-net on [MinPrice, MaxPrice] for ExpectedTasks tasks.</summary>
public sealed record PriceGridTerms(double MinPrice, double MaxPrice, double Lipschitz, int ExpectedTasks);

/// <summary>
/// A market was opened with uniform weights over its price grid and the mechanism's terms every service uses for its
/// tasks (<paramref name="Terms"/> is null only in markets opened before terms were recorded).
/// </summary>
public sealed record MarketOpened(string MarketId, PriceGridTerms Grid, double[] Prices, DateTimeOffset OpenedAt, MechanismTerms? Terms = null);

/// <summary>
/// The market quoted a price for a task (drawn from the MWU weights before the bid was seen, Alg. 1).
/// Carries the task so the allocation needs nothing else: the market's terms, and <paramref name="Seed"/>, the task's
/// randomness, drawn by the market from a cryptographic generator when it quoted (price draw, noise and permutations
/// all derive from it), recorded here so the task can be recomputed.
/// </summary>
/// <remarks>Market-internal: it carries the seed, the buyer's target and bid.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "task-priced")]
public sealed record TaskPriced(
    Guid TaskId,
    string MarketId,
    string BuyerId,
    double Bid,
    double[] Target,
    long FromStep,
    string[] SellerIds,
    ulong Seed,
    DateTimeOffset SubmittedAt,
    double Price,
    int PriceIndex,
    PriceGridTerms Grid,
    long MarketVersion,
    MechanismTerms? Terms = null);

/// <summary>
/// The mechanism's settings a service used for a task, recorded so the task can be recomputed exactly (dx audit).
/// Names follow MarketParameters; Gain is "NormalisedRmse" or "RSquared". PayoutRule is "thresholded", "interventional"
/// or "interventional-mse"; null for the paper's PD_B* and the renormalised one, which RenormaliseRobustShares tells apart.
/// The paper's other settings, each null for the default (so terms recorded before they existed read the same):
/// <paramref name="Allocation"/> "sampling" (Ex. 4.2; null: additive noise, Ex. 4.1), <paramref name="TaskKind"/>
/// "classification" (Remark 2.2; null: regression), <paramref name="Similarity"/> "hellinger" (PD_B*'s SM, Ex. 4.4; null: |cos|).
/// </summary>
public sealed record MechanismTerms(
    double NoiseSigma,
    double TrainFraction,
    double RidgeAlpha,
    string Gain,
    int IntegralPoints,
    double RobustnessLambda,
    bool RenormaliseRobustShares,
    int ShapleyPermutations,
    bool ExactShapley,
    double? ShapleyEpsilon,
    double? ShapleyDelta,
    int LedgerDecimals,
    decimal MarketFeeRate,
    string? PayoutRule = null,
    double? SimilarityThreshold = null,
    double? ShapleyRelativeError = null,
    bool ShapleyAntithetic = false,
    bool ShapleyStratified = false,
    string? Allocation = null,
    string? TaskKind = null,
    string? Similarity = null);

/// <summary>
/// AF*: the sellers' features allocated to the task at noise level max(0, p - b) * sigma, E drawn from NoiseSeed; in a
/// market with sampling allocation <paramref name="NoiseScale"/> is the fraction of observations masked, 1 - min(1, b / p)
/// (of the copy delivered), the mask drawn from NoiseSeed.
/// </summary>
/// <remarks>Market-internal: it carries the task's noise seed.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "features-allocated")]
public sealed record FeaturesAllocated(Guid TaskId, string[] SellerIds, long FromStep, int Steps, double NoiseScale, ulong NoiseSeed,
    MechanismTerms? Terms = null);

/// <summary>The buyer's predictions of its target over the held-out steps, and the gain G they achieve.</summary>
public sealed record PredictionDelivered(Guid TaskId, string BuyerId, double Gain, long PredictionFromStep, double[] Predictions);

/// <summary>
/// The buyer was charged RF*(p, b, Y) (Myerson, Eq. 3). RevenueCurve[c] = RF*(grid price c, b, Y), what PF* learns from.
/// Carries the market's terms and the task's seed to the payout service.
/// </summary>
/// <remarks>Market-internal: it carries the seed, the buyer's target and bid.</remarks>
[EntityName(MarketLimits.InternalExchangePrefix + "payment-charged")]
public sealed record PaymentCharged(
    Guid TaskId,
    string MarketId,
    string BuyerId,
    decimal Charge,
    double Price,
    double Bid,
    double Gain,
    double[] RevenueCurve,
    double[] Target,
    long FromStep,
    string[] SellerIds,
    ulong Seed,
    DateTimeOffset SubmittedAt,
    MechanismTerms? Terms = null);

/// <summary>
/// PF* applied a task's revenue curve: the market's weights after the update, the resulting mean price, and the
/// task's charge (its revenue) and quoted price for the market's history.
/// </summary>
public sealed record MarketPriceUpdated(Guid TaskId, string MarketId, double[] Weights, long Updates, double MeanPrice,
    decimal? Charge = null, double? Price = null, string? BuyerId = null);

/// <summary>A seller's payout for a task: its PD_B* share and the amount (rounded down to the ledger's unit).</summary>
public sealed record SellerPaid(Guid TaskId, string SellerId, double Share, decimal Amount);

/// <summary>A seller's line of a task's settlement: its PD_B* share and the amount paid, as in the task's SellerPaid.</summary>
public sealed record SellerShare(string SellerId, double Share, decimal Amount);

/// <summary>
/// A task is settled: Charge = PaidToSellers + Retained + Fee, exactly. Retained is PD_B*'s withheld part and rounding.
/// <paramref name="Payouts"/> is the task's settlement statement: every seller's line, in seller order, the same as
/// the task's SellerPaid events (PaidToSellers is their sum), so one message or event tells the whole split.
/// Null only in events recorded before the field existed.
/// </summary>
public sealed record TaskSettled(
    Guid TaskId,
    string MarketId,
    string BuyerId,
    decimal Charge,
    decimal PaidToSellers,
    decimal Retained,
    decimal Fee,
    int ShapleyPermutations,
    DateTimeOffset SubmittedAt,
    DateTimeOffset SettledAt,
    MechanismTerms? Terms = null,
    SellerShare[]? Payouts = null);
