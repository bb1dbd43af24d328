using DataExchange.Mechanism;

namespace DataExchange.Cli.Audit;

/// <summary>
/// The payout stage: PD_A* (Shapley), PD_B* or the market's payout rule, and the split of the recomputed charge into the
/// sellers' shares and payment lines, with the terms the settlement recorded, as the payout service computes them.
/// </summary>
internal static class PayoutAudit
{
    public static SettlementOutcome Recompute(RecordedTask t, FeatureSet features, AllocationOutcome a, List<string> notes)
    {
        var parameters = TaskAudit.Parameters(t.Settled.Terms, "TaskSettled", "settlement", notes);
        return MarketTask.Settle(features, t.Submitted.Target, t.Submitted.Bid, a.Price, a.Charge, TaskSeeds.FromTaskSeed(t.Priced.Seed), parameters);
    }

    public static void Compare(RecordedTask t, SettlementOutcome s, AuditChecks c, List<string> notes)
    {
        // Each seller's SellerPaid: exactly one, with the recomputed share and amount.
        var recordedBySeller = t.Paid.GroupBy(p => p.SellerId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var x in s.Split.Payouts)
        {
            var field = $"SellerPaid[{x.SellerId}]";
            if (!recordedBySeller.TryGetValue(x.SellerId, out var recorded))
            {
                c.Same(field, "(missing)", $"share {AuditChecks.Format(x.Share)}, amount {AuditChecks.Format(x.Amount)}");
                continue;
            }
            if (recorded.Count > 1) c.Same($"{field}.Count", recorded.Count, 1);
            c.Double($"{field}.Share", recorded[0].Share, x.Share);
            c.Decimal($"{field}.Amount", recorded[0].Amount, x.Amount);
        }
        foreach (var extra in recordedBySeller.Keys.Except(s.Split.Payouts.Select(p => p.SellerId), StringComparer.Ordinal))
            c.Same($"SellerPaid[{extra}]", $"{recordedBySeller[extra].Count} payout(s)", "(no such seller in the task)");

        // The settlement statement: the same lines, in seller order (what the seller accounts are projected from).
        var settled = t.Settled;
        if (settled.Payouts is not { } statement)
            notes.Add("TaskSettled carries no payout lines (an older event): its statement is not compared");
        else
        {
            c.Same("TaskSettled.Payouts.Count", statement.Length, s.Split.Payouts.Count);
            foreach (var (line, x) in statement.Zip(s.Split.Payouts))
            {
                var field = $"TaskSettled.Payouts[{x.SellerId}]";
                c.Same($"{field}.SellerId", line.SellerId, x.SellerId);
                c.Double($"{field}.Share", line.Share, x.Share);
                c.Decimal($"{field}.Amount", line.Amount, x.Amount);
            }
        }
        c.Decimal("TaskSettled.Charge", settled.Charge, s.Split.Charge);
        c.Decimal("TaskSettled.PaidToSellers", settled.PaidToSellers, s.Split.PaidToSellers);
        c.Decimal("TaskSettled.Retained", settled.Retained, s.Split.Retained);
        c.Decimal("TaskSettled.Fee", settled.Fee, s.Split.Fee);
        c.Same("TaskSettled.ShapleyPermutations", settled.ShapleyPermutations, s.Shapley.Permutations);
        c.Same("TaskSettled.MarketId", settled.MarketId, t.Submitted.MarketId);
        c.Same("TaskSettled.BuyerId", settled.BuyerId, t.Submitted.BuyerId);
        c.Same("TaskSettled.SubmittedAt", settled.SubmittedAt, t.Submitted.SubmittedAt);
    }
}
