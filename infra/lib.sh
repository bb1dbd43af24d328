# shellcheck shell=bash
# Shared settings and helpers for infra/up.sh and infra/down.sh. Source it; don't run it.
#
# Everything here can be overridden from the environment:
#   DX_INFRA_DIR        state directory (data, logs, env.sh)
#   DX_INFRA_MODE       auto (default) | docker | native
#   DX_PG_PORT          PostgreSQL port                      (55432)
#   DX_RABBIT_PORT      RabbitMQ AMQP port                   (55672)
#   DX_RABBIT_MGMT_PORT RabbitMQ management UI/API port      (55673)
#   DX_RABBIT_DIST_PORT Erlang distribution port of the node (55674)
#   DX_EPMD_PORT        private epmd port                    (55675)
#   DX_RABBIT_NODENAME  Erlang node name                     (dx-rabbit@localhost)
#   DX_RABBIT_ERL_ARGS  extra Erlang VM flags of the node    (+S 1:1: one scheduler; empty for one per core)
#   DX_WAIT_TIMEOUT     seconds to wait for each server      (90)

DX_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -z "${DX_INFRA_DIR:-}" ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    # /root is mode 0700, so the postgres user could not reach a data dir below it.
    DX_INFRA_DIR=/var/lib/dataexchange
  else
    DX_INFRA_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/dataexchange"
  fi
fi
DX_INFRA_MODE="${DX_INFRA_MODE:-auto}"
DX_PG_PORT="${DX_PG_PORT:-55432}"
DX_RABBIT_PORT="${DX_RABBIT_PORT:-55672}"
DX_RABBIT_MGMT_PORT="${DX_RABBIT_MGMT_PORT:-55673}"
DX_RABBIT_DIST_PORT="${DX_RABBIT_DIST_PORT:-55674}"
DX_EPMD_PORT="${DX_EPMD_PORT:-55675}"
DX_RABBIT_NODENAME="${DX_RABBIT_NODENAME:-dx-rabbit@localhost}"
DX_WAIT_TIMEOUT="${DX_WAIT_TIMEOUT:-90}"

DX_PG_DIR="$DX_INFRA_DIR/postgres"
DX_PG_DATA="$DX_PG_DIR/data"
DX_PG_RUN="$DX_PG_DIR/run"
DX_PG_LOG="$DX_PG_DIR/postgres.log"
DX_RABBIT_DIR="$DX_INFRA_DIR/rabbitmq"
DX_RABBIT_LOG="$DX_RABBIT_DIR/log"
DX_RABBIT_HOME="$DX_RABBIT_DIR/home"

DX_POSTGRES="Host=127.0.0.1;Port=$DX_PG_PORT;Username=dx;Password=dx;Database=dataexchange"
DX_RABBITMQ="amqp://dx:dx@127.0.0.1:$DX_RABBIT_PORT/"

dx_log()  { printf '[infra] %s\n' "$*" >&2; }
dx_die()  { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
dx_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# True when `docker compose` exists and a Docker engine answers.
dx_docker_usable() {
  command -v docker >/dev/null 2>&1 &&
    timeout 20 docker compose version >/dev/null 2>&1 &&
    timeout 20 docker info >/dev/null 2>&1
}

dx_mode() {
  case "$DX_INFRA_MODE" in
    docker|native) echo "$DX_INFRA_MODE" ;;
    auto) if dx_docker_usable; then echo docker; else echo native; fi ;;
    *) dx_die "DX_INFRA_MODE must be auto, docker or native (got '$DX_INFRA_MODE')" ;;
  esac
}

dx_compose() { (cd "$DX_REPO_ROOT" && docker compose "$@"); }

# TCP probe without extra tools.
dx_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }

# ---------------------------------------------------------------- PostgreSQL
dx_pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  d="$(dirname "$(readlink -f "$(command -v pg_ctl 2>/dev/null || echo /nonexistent)")")"
  [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] && { echo "$d"; return 0; }
  return 1
}

# Run a command as the PostgreSQL server's OS user (postgres when we are root).
dx_as_pg() {
  if dx_is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# True when PID is a live (not zombie) process whose command name is COMM.
# (kill -0 alone is fooled by zombies and reused pids after a kill -9.)
dx_pid_alive() {
  local pid="$1" comm="$2" stat
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "${stat#*) }" != Z* ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]]
}

# Prints the postmaster pid when our cluster is really running.
dx_pg_pid() {
  local pid
  [[ -f "$DX_PG_DATA/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$DX_PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
  dx_pid_alive "$pid" postgres && echo "$pid"
}

dx_pg_running() { dx_pg_pid >/dev/null; }

# ---------------------------------------------------------------- RabbitMQ
# The private node keeps everything below $DX_RABBIT_DIR. HOME points there too, so the
# node and every CLI call share $DX_RABBIT_HOME/.erlang.cookie (not root's ~/.erlang.cookie).
dx_rabbit_env() {
  export HOME="$DX_RABBIT_HOME"
  export RABBITMQ_NODENAME="$DX_RABBIT_NODENAME"
  export RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$DX_RABBIT_PORT"
  export RABBITMQ_DIST_PORT="$DX_RABBIT_DIST_PORT"
  export ERL_EPMD_PORT="$DX_EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$DX_RABBIT_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$DX_RABBIT_LOG"
  export RABBITMQ_CONFIG_FILE="$DX_RABBIT_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$DX_RABBIT_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$DX_RABBIT_DIR/rabbitmq-env.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DX_RABBIT_DIR/enabled_plugins"
  export RABBITMQ_PID_FILE="$DX_RABBIT_DIR/rabbitmq.pid"
  export ERL_CRASH_DUMP="$DX_RABBIT_LOG/erl_crash.dump"
  # Erlang distribution listens on loopback only. One scheduler (DX_RABBIT_ERL_ARGS overrides): the market's traffic
  # needs a fraction of a core, and a second scheduler only added wake-ups between the two; the broker's CPU a task went
  # from 12-13 to 9 ms one task at a time and from 2.2 to 1.7-1.8 ms in a burst, at the same throughput (README, Benchmarks).
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} ${DX_RABBIT_ERL_ARGS-+S 1:1}"
  # The CLI's own distribution ports default to DIST_PORT+10000.., which would exceed 65535.
  export RABBITMQ_CTL_DIST_PORT_MIN=$((DX_EPMD_PORT + 1))
  export RABBITMQ_CTL_DIST_PORT_MAX=$((DX_EPMD_PORT + 11))
}

DX_RABBIT_BIN=/usr/lib/rabbitmq/bin

# Run a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-diagnostics, ...) against the private node.
dx_rabbit_cli() {
  local tool="$1"; shift
  (dx_rabbit_env; "$DX_RABBIT_BIN/$tool" -n "$DX_RABBIT_NODENAME" "$@")
}

dx_rabbit_pid() {
  local pid
  [[ -s "$DX_RABBIT_PID_FILE_HINT" ]] || return 1
  pid="$(cat "$DX_RABBIT_PID_FILE_HINT" 2>/dev/null)" || return 1
  dx_pid_alive "$pid" beam.smp && echo "$pid"
}
DX_RABBIT_PID_FILE_HINT="$DX_RABBIT_DIR/rabbitmq.pid"

dx_rabbit_running() {
  [[ -x "$DX_RABBIT_BIN/rabbitmqctl" && -d "$DX_RABBIT_HOME" ]] || return 1
  # Cheap checks first: a CLI call costs ~1 s and would start epmd as a side effect.
  dx_rabbit_pid >/dev/null || dx_port_open "$DX_RABBIT_PORT" || return 1
  dx_rabbit_cli rabbitmq-diagnostics -q ping >/dev/null 2>&1
}
