#!/usr/bin/env bash
# Stops what infra/up.sh started. Idempotent.
#   infra/down.sh          stop PostgreSQL and RabbitMQ (data kept)
#   infra/down.sh --purge  also delete $DX_INFRA_DIR (docker mode: also the compose volumes)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) dx_die "unknown argument: $arg (usage: infra/down.sh [--purge])" ;;
  esac
done

STOPPED=()

# Docker: only when the engine answers and up.sh used it (or the mode is forced).
recorded_mode="$(cat "$DX_INFRA_DIR/mode" 2>/dev/null || true)"
if [[ $DX_INFRA_MODE == docker || ( $DX_INFRA_MODE == auto && $recorded_mode == docker ) ]]; then
  if dx_docker_usable; then
    if [[ $PURGE -eq 1 ]]; then dx_compose down -v --remove-orphans; else dx_compose down --remove-orphans; fi
    STOPPED+=("docker compose services")
  else
    dx_log "up.sh used docker, but no Docker engine answers now; skipping docker compose down"
  fi
fi

# Private PostgreSQL cluster.
if dx_pg_running; then
  bindir="$(dx_pg_bindir)"
  dx_log "stopping PostgreSQL ($DX_PG_DATA)"
  dx_as_pg "$bindir/pg_ctl" -D "$DX_PG_DATA" -m fast -w -t "$DX_WAIT_TIMEOUT" stop >/dev/null
  STOPPED+=("PostgreSQL on 127.0.0.1:$DX_PG_PORT")
fi

# Private RabbitMQ node.
if dx_rabbit_running; then
  dx_log "stopping RabbitMQ node $DX_RABBIT_NODENAME"
  pid="$(dx_rabbit_pid || true)"
  dx_rabbit_cli rabbitmqctl -q stop ${pid:+"$DX_RABBIT_PID_FILE_HINT"} >/dev/null 2>&1 ||
    dx_rabbit_cli rabbitmqctl -q stop >/dev/null
  STOPPED+=("RabbitMQ node $DX_RABBIT_NODENAME on 127.0.0.1:$DX_RABBIT_PORT")
elif pid="$(dx_rabbit_pid)"; then
  # Node process alive but not answering the CLI (e.g. stuck in boot): stop that process only.
  dx_log "RabbitMQ process $pid does not answer; sending TERM"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  STOPPED+=("RabbitMQ process $pid")
fi
# The node's private epmd (only ours listens on $DX_EPMD_PORT).
if dx_port_open "$DX_EPMD_PORT" && command -v epmd >/dev/null &&
   ERL_EPMD_PORT=$DX_EPMD_PORT epmd -names >/dev/null 2>&1; then
  if ! ERL_EPMD_PORT=$DX_EPMD_PORT epmd -names 2>/dev/null | grep -q '^name '; then
    ERL_EPMD_PORT=$DX_EPMD_PORT epmd -kill >/dev/null 2>&1 && STOPPED+=("epmd on port $DX_EPMD_PORT")
  fi
fi

if [[ $PURGE -eq 1 && -d $DX_INFRA_DIR ]]; then
  case "$DX_INFRA_DIR" in
    /|/root|/home|/var|/var/lib|/usr|/etc|"$HOME") dx_die "refusing to delete DX_INFRA_DIR=$DX_INFRA_DIR" ;;
  esac
  rm -rf -- "$DX_INFRA_DIR"
  STOPPED+=("deleted $DX_INFRA_DIR")
fi

if [[ ${#STOPPED[@]} -eq 0 ]]; then
  echo "DataExchange infrastructure: nothing was running (state dir $DX_INFRA_DIR)"
else
  echo "DataExchange infrastructure stopped:"
  printf '  - %s\n' "${STOPPED[@]}"
fi
