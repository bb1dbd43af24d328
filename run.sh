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
