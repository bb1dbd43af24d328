#!/usr/bin/env bash
# Restarts one server that infra/up.sh started, as a fault the market must survive (the fault tests use it).
#   infra/restart.sh postgres    fast shutdown (open connections are cut) and start again, same data
#   infra/restart.sh rabbitmq [S]  stop the broker application and start it again (connections are cut), after S
#                                  seconds down (default 0: at once)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what="${1:-}"
down="${2:-0}"
[[ $down =~ ^[0-9]+$ ]] || { echo "infra/restart.sh: seconds down must be a whole number, not '$down'" >&2; exit 2; }
recorded_mode="$(cat "$DX_INFRA_DIR/mode" 2>/dev/null || true)"
if [[ $recorded_mode == docker ]]; then
  case "$what" in
    postgres) dx_compose restart "$what" >/dev/null; dx_log "restarted $what (docker compose)"; exit 0 ;;
    rabbitmq) dx_compose stop "$what" >/dev/null; sleep "$down"; dx_compose start "$what" >/dev/null; dx_log "restarted $what after ${down} s down (docker compose)"; exit 0 ;;
  esac
fi
case "$what" in
  postgres)
    dx_pg_running || dx_die "PostgreSQL is not running (run infra/up.sh)"
    dx_as_pg "$(dx_pg_bindir)/pg_ctl" -D "$DX_PG_DATA" -l "$DX_PG_LOG" -m fast -w -t "$DX_WAIT_TIMEOUT" restart >/dev/null
    dx_log "restarted PostgreSQL on 127.0.0.1:$DX_PG_PORT"
    ;;
  rabbitmq)
    dx_rabbit_running || dx_die "RabbitMQ is not running (run infra/up.sh)"
    dx_rabbit_cli rabbitmqctl stop_app >/dev/null
    sleep "$down"
    dx_rabbit_cli rabbitmqctl start_app >/dev/null
    dx_rabbit_cli rabbitmqctl await_startup >/dev/null
    dx_log "restarted the RabbitMQ application on node $DX_RABBIT_NODENAME after ${down} s down"
    ;;
  *) echo "usage: infra/restart.sh postgres | rabbitmq [SECONDS_DOWN]" >&2; exit 2 ;;
esac
