#!/usr/bin/env bash
# Starts or stops the four market services as separate processes on loopback (needs infra/up.sh first).
#   infra/services.sh start [--fresh]   build (Release), start ingestion:5080 pricing:5081 allocation:5082 payout:5083,
#                                       wait until each answers /health/ready; --fresh first drops the services' schemas
#   infra/services.sh stop              stop them
#   infra/services.sh status
# Logs: $DX_INFRA_DIR/logs/<service>.log. Connection strings come from $DX_INFRA_DIR/env.sh (written by up.sh).
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(ingestion:Ingestion:5080 pricing:Pricing:5081 allocation:Allocation:5082 payout:Payout:5083)
LOGS="$DX_INFRA_DIR/logs"
RUN="$DX_INFRA_DIR/run"

svc_pid() { cat "$RUN/$1.pid" 2>/dev/null || true; }
svc_alive() { local p; p=$(svc_pid "$1"); [[ -n "$p" ]] && [[ -d /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; }

start() {
  [[ -f "$DX_INFRA_DIR/env.sh" ]] || dx_die "run infra/up.sh first ($DX_INFRA_DIR/env.sh is missing)"
  # shellcheck disable=SC1091
  source "$DX_INFRA_DIR/env.sh"
  mkdir -p "$LOGS" "$RUN"
  # The market's participant-key secret: from the environment, else generated once and kept (mode 600) with the data.
  if [[ -z "${DX_KEY_SECRET:-}" ]]; then
    if [[ ! -s "$DX_INFRA_DIR/key-secret" ]]; then (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DX_INFRA_DIR/key-secret"); fi
    DX_KEY_SECRET="$(cat "$DX_INFRA_DIR/key-secret")"
  fi
  if [[ "${1:-}" == "--fresh" ]]; then
    stop >/dev/null
    dx_log "dropping the services' schemas (a fresh market)"
    PGOPTIONS='-c client_min_messages=warning' psql "postgresql://dx:dx@127.0.0.1:$DX_PG_PORT/dataexchange" -q -v ON_ERROR_STOP=1 \
      -c "DROP SCHEMA IF EXISTS ingestion, pricing, allocation, payout CASCADE" >/dev/null
  fi
  dx_log "building the services (Release)"
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name project port <<<"$s"
    dotnet build "$DX_REPO_ROOT/services/DataExchange.$project" -c Release --nologo -v quiet >/dev/null
  done
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name project port <<<"$s"
    if svc_alive "$name"; then dx_log "$name already running (pid $(svc_pid "$name"))"; continue; fi
    dx_port_open "$port" && dx_die "port $port (for $name) is taken by another process; stop it first"
    # The services inherit this environment: infra/benchmark-burst.sh sets DOTNET_ReadyToRun=0 here (see there).
    ASPNETCORE_URLS="http://127.0.0.1:$port" DX_POSTGRES="$DX_POSTGRES" DX_RABBITMQ="$DX_RABBITMQ" DX_KEY_SECRET="$DX_KEY_SECRET" \
      nohup dotnet "$DX_REPO_ROOT/services/DataExchange.$project/bin/Release/net10.0/DataExchange.$project.dll" \
      >"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
  done
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name project port <<<"$s"
    local waited=0
    until curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; do
      svc_alive "$name" || dx_die "$name exited; see $LOGS/$name.log"
      ((waited++ < DX_WAIT_TIMEOUT * 2)) || dx_die "$name not ready after ${DX_WAIT_TIMEOUT}s; see $LOGS/$name.log"
      sleep 0.5
    done
    dx_log "$name ready on http://127.0.0.1:$port (pid $(svc_pid "$name"), log $LOGS/$name.log)"
  done
}

stop() {
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name _ _ <<<"$s"
    if svc_alive "$name"; then
      kill "$(svc_pid "$name")" 2>/dev/null || true
      for _ in $(seq 1 40); do svc_alive "$name" || break; sleep 0.25; done
      svc_alive "$name" && kill -9 "$(svc_pid "$name")" 2>/dev/null || true
      dx_log "stopped $name"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name _ port <<<"$s"
    if svc_alive "$name"; then echo "$name: running (pid $(svc_pid "$name")) on http://127.0.0.1:$port"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: infra/services.sh start [--fresh] | stop | status" >&2; exit 2 ;;
esac
