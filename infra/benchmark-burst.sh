#!/usr/bin/env bash
# The services' throughput benchmark (README, Benchmarks): 1,000-task bursts through the four running services.
#   infra/benchmark-burst.sh [RUNS] [extra dx market run arguments]
# Brings the infrastructure up, starts the services on a fresh market, runs RUNS bursts (default 3; the first is the
# cold one) of `dx market run --buyers 1000 --watch settled`, and after each prints the CLI's throughput and latency
# lines and the CPU time each process used during it (from /proc/PID/stat: the four services, PostgreSQL, RabbitMQ's
# beam.smp; the load generator's own figure is the CLI's "Load generator" line). Stops the services at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=infra/lib.sh
source infra/lib.sh
runs="${1:-3}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || dx_die "RUNS must be a positive whole number, not '$runs'"
shift || true

bash infra/up.sh >/dev/null
# shellcheck disable=SC1091
source "$DX_INFRA_DIR/env.sh"
# The services as a long-running deployment runs them (the Dockerfile sets the same): the framework's precompiled
# (ReadyToRun) code is ignored and every method is JIT-compiled, optimised for this machine, once at first call (tiering
# is off, services/Directory.Build.props; without tiering ReadyToRun code is never replaced). In a warm burst this cost
# the services about 8% less CPU; the price is startup: the four start in about 35-40 s here instead of 17 s, which is
# why ./run.sh and a plain services.sh keep the default. Only an environment variable can set it, so dx keeps its own.
DOTNET_ReadyToRun=0 bash infra/services.sh start --fresh
trap 'bash infra/services.sh stop' EXIT
DX_KEY_SECRET="${DX_KEY_SECRET:-$(cat "$DX_INFRA_DIR/key-secret")}"
export DX_KEY_SECRET
./dx help >/dev/null # builds the CLI now, not inside the first burst

# CPU seconds (user + system) per process group, from the kernel's clock ticks.
cpu() {
  local hz pid name
  hz=$(getconf CLK_TCK)
  for pid in $(pgrep -f 'DataExchange\.(Ingestion|Pricing|Allocation|Payout)\.dll|beam\.smp|postgres' || true); do
    # A process may end between pgrep and here (a PostgreSQL backend): skip it.
    name=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -oE 'Ingestion|Pricing|Allocation|Payout|beam|postgres' | head -1) || continue
    awk -v n="$name" -v hz="$hz" '{ print n, ($14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null || true
  done | awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort
}

for run in $(seq 1 "$runs"); do
  echo "== burst $run of $runs$([[ $run -eq 1 ]] && echo ' (cold: the services have just started)')"
  before=$(cpu)
  ./dx market run --buyers 1000 --watch settled --no-progress --market-id "bench-$run-$RANDOM" "$@" |
    grep -E '^(Total Buyers|Ledger balances|Throughput|Submit to settled|Load generator)'
  after=$(cpu)
  join <(echo "$before") <(echo "$after") | awk '{ printf "  %-11s %6.2f s CPU\n", $1, $3 - $2 }'
done
