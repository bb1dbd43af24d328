using DataExchange.Client;
using DataExchange.Contracts;
using DataExchange.Settlement;
using Xunit;

namespace DataExchange.Cli.Tests;

/// <summary>Catch-up lines and live SellerPaid messages merged: each payment line shown exactly once, in order.</summary>
public class PayoutMergeTests
{
    private static readonly Guid[] Tasks = Enumerable.Range(1, 6).Select(i => new Guid(i, 0, 0, new byte[8])).ToArray();
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static PayoutLineView Line(int task, string seller = "s1") =>
        new((task + 1) * PayoutLine.LinesPerEvent, Tasks[task], seller, 0.1 * task, 0.01m * task, T0.AddSeconds(task));

    private static SellerPaid Paid(int task, string seller = "s1") => new(Tasks[task], seller, 0.1 * task, 0.01m * task);

    [Fact]
    public void Live_lines_heard_during_the_catch_up_are_held_back_and_shown_once_after_it()
    {
        var shown = new List<PaymentLine>();
        var merge = new PayoutMerge(l => { shown.Add(l); return true; });
        Assert.True(merge.FromCatchUp(Line(0)));
        // Task 1 and task 3 settle while catching up: heard live, and task 1 is also in the catch-up's next page.
        Assert.False(merge.Live(Paid(1), T0));
        Assert.False(merge.Live(Paid(3), T0));
        Assert.Single(shown);
        Assert.True(merge.FromCatchUp(Line(1)));
        Assert.True(merge.FromCatchUp(Line(2)));
        merge.CaughtUp();
        // Redelivered live (at least once) and heard live afterwards.
        Assert.False(merge.Live(Paid(3), T0));
        Assert.False(merge.Live(Paid(1), T0));
        Assert.True(merge.Live(Paid(4), T0));
        Assert.Equal([Tasks[0], Tasks[1], Tasks[2], Tasks[3], Tasks[4]], shown.Select(l => l.TaskId));
        // Log lines keep their cursor; the one only heard live has none yet.
        Assert.Equal([Line(0).Cursor, Line(1).Cursor, Line(2).Cursor, null, null], shown.Select(l => l.Cursor));
        Assert.Equal(5, merge.Shown);
    }

    [Fact]
    public void A_line_is_keyed_by_task_and_seller_not_by_task_alone()
    {
        var shown = new List<PaymentLine>();
        var merge = new PayoutMerge(l => { shown.Add(l); return true; }, catchingUp: false);
        Assert.True(merge.Live(Paid(0, "s1"), T0));
        Assert.True(merge.Live(Paid(0, "s2"), T0));
        Assert.False(merge.Live(Paid(0, "s1"), T0));
        Assert.False(merge.FromCatchUp(Line(0, "s2")));
        Assert.Equal(2, shown.Count);
        Assert.True(merge.WasShown(Tasks[0], "s2"));
        Assert.False(merge.WasShown(Tasks[1], "s1"));
    }

    [Fact]
    public void A_line_the_subscriber_declined_is_not_counted_as_shown()
    {
        var limit = 2;
        var shown = new List<PaymentLine>();
        var merge = new PayoutMerge(l => { if (shown.Count >= limit) return false; shown.Add(l); return true; });
        foreach (var n in new[] { 0, 1, 2 }) merge.FromCatchUp(Line(n));
        Assert.Equal(2, shown.Count);
        Assert.False(merge.WasShown(Tasks[2], "s1"));
        limit = 3;
        merge.CaughtUp();
        Assert.True(merge.Live(Paid(2), T0));
    }

    // Mutation watched failing (this test and the one after it): CatchUpMerge.ShowOnce without its already-shown check.
    [Fact]
    public void Lines_a_restarted_subscriber_already_showed_are_not_shown_again_and_live_ones_wait_for_the_catch_up()
    {
        var shown = new List<PaymentLine>();
        var merge = new PayoutMerge(l => { shown.Add(l); return true; });
        // Its output file had tasks 0 and 1 (task 1 heard live, so the catch-up starts before it).
        merge.AlreadyShown([(Tasks[0], "s1"), (Tasks[1], "s1")]);
        Assert.False(merge.WhenCaughtUp.IsCompleted); // a live handler awaiting this keeps its message unacknowledged
        Assert.False(merge.Live(Paid(1), T0));
        Assert.False(merge.FromCatchUp(Line(1)));
        Assert.True(merge.FromCatchUp(Line(2)));
        merge.CaughtUp();
        Assert.True(merge.WhenCaughtUp.IsCompleted);
        Assert.False(merge.Live(Paid(0), T0));
        Assert.Equal([Tasks[2]], shown.Select(l => l.TaskId));
        Assert.True(new PayoutMerge(_ => true, catchingUp: false).WhenCaughtUp.IsCompleted);
    }

    [Fact]
    public void A_buyers_results_are_shown_once_by_task()
    {
        var shown = new List<ResultLine>();
        var merge = new ResultMerge(l => { shown.Add(l); return true; });
        var charged = new BuyerCharged(Tasks[0], "m", "b1", 0.5m, 1.2, 1.5, 0.3);
        merge.Live(ResultLine.Of(charged, T0));
        Assert.True(merge.FromCatchUp(ResultLine.Of("b1", new BuyerResultView(7, Tasks[0], "m", 0.3, 280, [1.0], 0.5m, T0))));
        merge.CaughtUp();
        Assert.False(merge.Live(ResultLine.Of(charged, T0)));
        Assert.Equal([7L], shown.Select(l => l.Cursor));
    }

    [Fact]
    public void Watch_lines_parse_back_to_their_keys_and_cursors()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path,
                $"2026-12-01T12:00:00.000Z  task {Tasks[0]}  seller s-1  share 0.1  amount 0.01  cursor 42\n" +
                $"2026-12-01T12:00:01.000Z  task {Tasks[1]}  seller s-1  share 0.1  amount 0.01\n" +
                $"2026-12-01T12:00:02.000Z  task {Tasks[2]}  sel"); // cut short by a kill: not a line
            using (var output = DataExchange.Cli.Watch.WatchOutput.Open(path, TextWriter.Null))
            {
                Assert.Equal(2, output.Existing.Count);
                Assert.Equal(42, output.LastCursor);
                Assert.Equal((Tasks[1], "s-1"), DataExchange.Cli.Watch.WatchPayoutsCommand.KeyOf(output.Existing[1]));
                output.WriteLine("next");
            }
            // The cut line was closed with a newline before the next one was written.
            Assert.EndsWith("sel\nnext\n", File.ReadAllText(path));
            Assert.Equal(Tasks[3], DataExchange.Cli.Watch.WatchResultsCommand.KeyOf($"t  task {Tasks[3]}  buyer b  market m  gain 0.1  charge 0.2"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
