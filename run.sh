#!/usr/bin/env bash
# The market's main job, on a fresh machine:
#   brings up PostgreSQL and RabbitMQ (infra/up.sh), starts the four services as separate processes on a fresh market,
#   registers the seed scenario's sellers (20 x 400 steps), publishes 120 buyer tasks onto the bus, receives the
#   sellers' payouts as a bus subscriber and prints the seed report's summary. The services are stopped at the end
#   (keep them with DX_KEEP_SERVICES=1). Extra arguments go to `dx market run` (see ./dx help).
# The same market in process, without servers: ./dx simulate
set -euo pipefail
cd "$(dirname "$0")"
bash infra/up.sh
# shellcheck disable=SC1091
DX_INFRA_DIR="$(bash -c 'source infra/lib.sh; echo "$DX_INFRA_DIR"')"
source "$DX_INFRA_DIR/env.sh"
bash infra/services.sh start --fresh
# The operator's client issues the sellers' keys with the market's secret (see infra/services.sh).
DX_KEY_SECRET="${DX_KEY_SECRET:-$(cat "$DX_INFRA_DIR/key-secret")}"
export DX_KEY_SECRET
if [[ "${DX_KEEP_SERVICES:-0}" != 1 ]]; then trap 'bash infra/services.sh stop' EXIT; fi
./dx market run "$@"

# What a newcomer should see next: the market's latency measured here, at rest and under a steady load, beside the
# mechanism's own time per task on the same machine (README, Benchmarks: latency). Skip with DX_FIGURES=0.
if [[ "${DX_FIGURES:-1}" == 1 ]]; then
  echo
  echo "Measured on this machine just now ($(nproc) cores; README, Benchmarks, has the full tables):"
  mech=$(./dx simulate --no-progress | sed -n 's/^Mechanism time *: .*, \([0-9.]*\) ms per task.*/\1/p')
  echo "  dx simulate (mechanism only)   : ${mech} ms per task"
  ratio() { sed -n "${1:-}"'s/^Submit to settled *: p50 \([0-9]*\) ms, p99 \([0-9]*\) ms.*/p50 \1 ms, p99 \2 ms/p; s/^First task *: \([0-9]*\) ms.*/first task of the run \1 ms/p; s/^Throughput *: \([0-9.]*\) tasks\/s.*/settled \1 tasks\/s/p' |
    awk -v m="$mech" '{ line = line (line ? "; " : "") $0 } /^p50/ { split($0, f, " "); r = sprintf(" (p50 %.0fx the mechanism)", f[2] / m) } END { print line r }'; }
  printf '  at rest, one task at a time    : '
  rest="at-rest-$RANDOM$RANDOM"
  ./dx market run --buyers 10 --sequential --watch settled --no-progress --market-id "$rest" | ratio '/^Throughput/d; '
  # Where those tasks' time went inside the market, leg by leg (dx report latency, from the services' event logs).
  ./dx report latency --market "$rest" | sed 's/^/    /' || echo "    (dx report latency could not read the event logs)"
  printf '  under load, 25 tasks/s for 10 s: '
  ./dx market run --rate 25 --duration 10 --watch settled --no-progress --market-id "load-$RANDOM$RANDOM" | ratio
fi
