using DataExchange.Cli;

return Dx.Run(args, Console.Out, Console.Error);

namespace DataExchange.Cli
{
    public static class Dx
    {
        public const string Usage = """
            dx: the DataExchange command line

              dx simulate [options]     run a whole market in process (the mechanism library, no servers)
                --sellers M             synthetic market: number of sellers (default 20)
                --steps T               synthetic market: length of every series (default 400)
                --buyers N              synthetic market: number of buyer tasks (default 120)
                --mu-min, --mu-max      synthetic market: valuations mu ~ U[mu-min, mu-max] (default 1, 2)
                --market FILE.json      load sellers and buyers from a file instead of generating them
                --seed S                market seed: data, prices, noise and permutations (default 42)
                --perms K               Shapley permutations per task (default 200)
                --shapley-eps E         with --shapley-delta D: sample until max error < E w.p. 1 - D
                --shapley-delta D
                --shapley-relative R    sample until every seller's standard error is at most R / M of the task's
                                        total gain (R of the average share at any M; e.g. 0.05); reports K used
                --antithetic            permutations in antithetic pairs (each with its reverse): unbiased, fewer
                                        permutations for the same accuracy
                --stratified            with --shapley-relative: sample positions instead of whole permutations
                                        (stratified by position, allocated by variance and cost): unbiased, far less
                                        work at M in the hundreds; reports the walks made (most of them short)
                --exact-shapley         exact Shapley over all coalitions (M <= 24) instead of Monte Carlo
                --payout-rule R         how each charge is split (README, "Payout rules"; default paper):
                                          paper           PD_B* as the paper writes it; the withheld part is retained
                                          renormalised    PD_B* renormalised, all paid out (not replication-robust)
                                          thresholded     PD_B* counting only similarity above tau (exact copies: 1)
                                          interventional  Shapley of the full model's coefficients (G), all paid out
                                          interventional-mse  the same valued by squared error: closed form, all paid out
                --renormalise           the same as --payout-rule renormalised
                --lambda L              PD_B* similarity penalty (default ln 2)
                --similarity-threshold T  tau of the thresholded rule (default 0.9)
                --allocation A          how AF* degrades the data for a bid below the price (default noise):
                                          noise      X + max(0, p - b) sigma E (Ex. 4.1)
                                          sampling   each observation kept with probability min(1, b / p) (Ex. 4.2)
                --task K                regression (default) or classification: targets are class labels (the
                                        synthetic buyers' series cut into --classes C classes by quantile, default 3),
                                        G from held-out accuracy over the majority class (Remark 2.2)
                --similarity S          PD_B*'s SM: cosine (|cos|, default) or hellinger (1 - Hellinger distance of the
                                        sellers' Gaussian fits, Ex. 4.4)
                --ridge A               ridge penalty on standardised features (default 1; 0 = OLS)
                --integral-points P     gain evaluations per RF* (Gauss-Legendre on [0, min(b, p)], default 15)
                --expected-tasks N      N that sets the price grid and MWU rate (default: the number of buyers)
                --top K                 sellers listed in the summary (default 5)
                --json                  one JSON line per task, then a summary line
                --no-progress           no progress bar even on a terminal

              dx payout-rules [options]  the table comparing the payout rules (README, "Payout rules"), from seeded runs:
                                        per rule the share of the charge paid to sellers on the seed scenario, ms per task,
                                        and a copier's total payout with 1, 2, 4 copies (exact or noisy) over without
                --sellers, --steps, --buyers, --seed, --perms   the seed scenario (defaults as for simulate)
                --exact-tasks N         tasks of the seed scenario also settled with exact Shapley, timed (default 2)
                --copy-sellers M        sellers of the copy experiments' market before copying (default 12, at most 20)
                --copy-tasks N          tasks of the copy experiments (default 60); --copy-seed S (default 7)
                --copy-noise a,b        the copies' noise levels, fractions of the series' s.d. (default 0,0.05,0.1,0.3,0.5)
                --rules a,b             only these rules (default all); --lambda, --similarity-threshold as for simulate
                --no-progress           no progress bars

              dx market run [options]   the main job against the running services (infra/services.sh start):
                                        registers the sellers over HTTP, publishes the buyer tasks onto the bus,
                                        receives the payouts as a bus subscriber, prints the summary
                --sellers, --steps, --buyers, --mu-min, --mu-max, --market FILE, --seed   as for simulate (--seed makes
                                        the data; each task's price, noise and permutations are the market's own draw)
                --market-id ID          the market (pricing stream) to trade in (default "default")
                --perms, --shapley-eps, --shapley-delta, --exact-shapley, --lambda, --ridge, --integral-points,
                --expected-tasks N, --fee F, --payout-rule NAME, --similarity-threshold TAU, --allocation A,
                --task K (with --classes C), --similarity S
                                        open the market with these terms first (a fresh market unless --market-id names
                                        one; a market's terms never change); every service settles its tasks under them
                --pricing URL           pricing's HTTP address, to open a market (default http://127.0.0.1:5081 or DX_PRICING_URL)
                --sequential            one task at a time (each price update lands before the next quote)
                --rate R --duration S   open loop: R tasks per second for S seconds, each task's latency from its own publish
                --ingestion URL         ingestion's HTTP address (default http://127.0.0.1:5080 or DX_INGESTION_URL)
                --rabbitmq URI          the bus (default DX_RABBITMQ or amqp://dx:dx@127.0.0.1:55672/); a buyer's own URI
                                        (dx participants add buyer ID) trades as that buyer: every task in its name, on
                                        its durable queue, the sellers left to the operator (needs --key)
                --key KEY               that buyer's API key (default DX_API_KEY), to read its results on allocation
                --reconcile-after S     when no task finished for S seconds (default 5), account for the pending ones from
                                        the market's logs: the buyers' results on allocation and (operator) the sellers'
                                        payment lines on payout, for what a broker outage kept from this subscriber
                --allocation-url URL, --payout URL   where (default :5082, :5083 or DX_ALLOCATION_URL, DX_PAYOUT_URL)
                --timeout S             give up after S seconds (default 600): exit 5, the unconfirmed tasks' ids on stdout
                --watch payouts|settled receive every SellerPaid (default) or only settlements (lighter observer)
                --json, --no-progress   as for simulate

              dx audit task ID [options] recompute a settled task from its recorded inputs and seeds and compare every
                                        field (price, allocation, gain, charge, revenue curve, predictions, payouts,
                                        retained, fee) with the recorded events: exit 0 if all agree, 4 if any differ
                --postgres CONN         the event store (default DX_POSTGRES or the local dev database)
                --differences-only      print only the fields that differ

              dx watch payouts [options] print each SellerPaid as it arrives on the bus (time, task, seller, share, amount)
                --seller ID             only this seller's payouts
                --since CURSOR          first catch up on the seller's lines after CURSOR from the payout log (0 = all;
                                        each caught-up line ends with its cursor), then go on live; each line once
                --from TIME             the same, from the first line settled at or after TIME (ISO-8601, UTC)
                --payout URL            payout's HTTP address (default http://127.0.0.1:5083 or DX_PAYOUT_URL)
                --key KEY               the seller's API key (default DX_API_KEY, else issued from DX_KEY_SECRET)
                --output FILE           append the lines to FILE; a restarted watch (even after kill -9) reads it back:
                                        no line twice, and the catch-up resumes after the last cursor in it
                --count N               exit after N lines (default: until Ctrl+C)
                --rabbitmq URI          the bus (default DX_RABBITMQ or amqp://dx:dx@127.0.0.1:55672/); a seller's own
                                        URI (dx participants add) reads its durable queue, and --seller defaults to it

              dx watch results [options] a buyer's results as they arrive: one line per task charged (time, task, buyer,
                                        market, gain, charge); with a buyer's own URI from its durable queue
                --buyer ID              only this buyer's results (the operator's account; a buyer's own URI implies it)
                --since CURSOR, --from TIME   first catch up from allocation's log (GET /buyers/{id}/results), then live
                --allocation-url URL    allocation's HTTP address (default http://127.0.0.1:5082 or DX_ALLOCATION_URL)
                --key KEY, --output FILE, --count N, --rabbitmq URI   as for watch payouts (the buyer's key)

              dx report settlement [options]   the settlement report of a period, from the projections
                --from T, --to T        settled in [from, to), ISO dates or times, UTC (default: all)
                --format F              table (default), csv, json or html (html draws the price and each seller's earnings)
                --market ID             one market only
                --output FILE           write the report to FILE instead of the terminal
                --wait S                wait up to S seconds for the projections to catch up (default 30)
                --postgres CONN         the market's database (default DX_POSTGRES or the local dev database)

              dx projections rebuild [options]   drop every settlement projection and rebuild it from the events
                --schema S              only payout, allocation or pricing (default: all three)
                --postgres CONN         as above
              dx projections benchmark [options]  time a rebuild over a synthetic payout log in its own schema
                --events N              events in the log (default 1000000); --sellers M per task (default 20)
                --schema S              the schema it drops and fills (default bench_payout); --keep leaves it

              dx errors list [--show N] list the error queues (poison messages) with the first N faults of each
              dx errors replay --queue Q | --all
                                        move parked messages back to the queue they came from (once the cause is fixed)
                --rabbitmq URI          the bus (default DX_RABBITMQ); --management URL its management API (default :55673)

              dx participants add buyer|seller ID   make a participant: its own broker account (generated password) with
                                        permission on its own names only, its durable queue (bound to what the market
                                        sends it and to the public prices), a buyer's task exchange; prints its AMQP URI
                                        and HTTP API key (needs DX_KEY_SECRET)
              dx participants list      the participants, with what waits in each queue
              dx participants revoke ID close a participant: broker account, connections, queue and HTTP key
                --rabbitmq URI          the operator's bus account (default DX_RABBITMQ); --management URL (default :55673)

              dx help                   this text

            Exit codes:
              0  done                      1  dx market run: not every task settled or rejected
              2  bad command line          3  market file refused          4  dx audit: a field differs
              5  not there yet: tasks unconfirmed at --timeout (their ids on stdout; look one up with dx audit task ID
                 or the catch-up endpoints), a task unknown or unsettled (audit), projections not created (report)
              6  a service unreachable over HTTP (or no answer in time)
              7  the bus (RabbitMQ) unreachable   8  the event store (PostgreSQL) unreachable or failing
              9  the market refused a request (HTTP 4xx/5xx: a key, a bad value)
              70 an unexpected failure (a bug: DX_DEBUG=1 prints where)
            """;

        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            try
            {
                if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
                {
                    stdout.WriteLine(Usage);
                    return args.Length == 0 ? 2 : 0;
                }
                return args[0] switch
                {
                    "simulate" => SimulateCommand.Run(args[1..], stdout, stderr),
                    "payout-rules" => PayoutRulesCommand.Run(args[1..], stdout, stderr),
                    "market" when args.Length > 1 && args[1] == "run" => Market.MarketRunCommand.Run(args[2..], stdout, stderr),
                    "errors" => Errors.ErrorsCommand.Run(args[1..], stdout, stderr),
                    "participants" => Participants.ParticipantsCommand.Run(args[1..], stdout, stderr),
                    "audit" => Audit.AuditCommand.Run(args[1..], stdout, stderr),
                    "watch" when args.Length > 1 && args[1] == "payouts" => Watch.WatchPayoutsCommand.Run(args[2..], stdout, stderr),
                    "watch" when args.Length > 1 && args[1] == "results" => Watch.WatchResultsCommand.Run(args[2..], stdout, stderr),
                    "report" => Reports.ReportCommand.Run(args[1..], stdout, stderr),
                    "projections" => Reports.ProjectionsCommand.Run(args[1..], stdout, stderr),
                    _ => throw new UsageException($"'{args[0]}': unknown command (see dx help)"),
                };
            }
            catch (TasksUnconfirmedException e)
            {
                // The ids on stdout (one per line, for a script), the explanation on stderr.
                foreach (var id in e.Unconfirmed) stdout.WriteLine(id);
                return Failures.Report(e, stderr);
            }
            catch (Exception e)
            {
                // No command ends with a stack trace: each failure gets a sentence and its exit code.
                return Failures.Report(e, stderr);
            }
        }
    }
}
