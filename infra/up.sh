#!/usr/bin/env bash
# Brings up PostgreSQL and RabbitMQ for DataExchange on loopback. Idempotent.
#   - with a Docker engine:  docker compose up -d --wait postgres rabbitmq
#   - otherwise:             private PostgreSQL cluster + private RabbitMQ node under $DX_INFRA_DIR,
#                            installing the Debian packages first when they are missing.
# See infra/README.md.
set -euo pipefail

# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T0=$SECONDS
STARTED=()   # what this run started (as opposed to found running)

# ---------------------------------------------------------------- packages
APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    dx_log "apt-get update"
    apt-get update -qq >/dev/null || apt-get update
    APT_UPDATED=1
  fi
}

apt_install() {
  dx_is_root || dx_die "missing packages ($*) and not root: install them with sudo apt-get install $*"
  command -v apt-get >/dev/null || dx_die "missing packages ($*) and no apt-get on this machine"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' maintainer scripts from auto-starting system services (a system
  # rabbitmq/postgres would otherwise start on their own ports and epmd). Respect an existing policy.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local pkg need_update=0
  for pkg in "$@"; do
    local pol; pol="$(apt-cache policy "$pkg" 2>/dev/null || true)"
    if ! grep -q 'Candidate: [0-9]' <<<"$pol"; then need_update=1; fi
  done
  [[ $need_update -eq 1 ]] && apt_update_once
  dx_log "apt-get install $*"
  local rc=0
  apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@" >/dev/null || rc=$?
  if [[ $rc -ne 0 && $APT_UPDATED -eq 0 ]]; then
    apt_update_once   # stale package lists: refresh and retry once
    rc=0; apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@" || rc=$?
  fi
  if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; trap - EXIT; fi
  [[ $rc -eq 0 ]] || dx_die "apt-get install $* failed"
  # If a system rabbitmq got started anyway (e.g. by systemd), stop it: it would hold epmd/ports.
  if [[ " $* " == *" rabbitmq-server "* ]] && pgrep -u rabbitmq -x beam.smp >/dev/null 2>&1; then
    dx_log "stopping the system rabbitmq-server service started by the package"
    service rabbitmq-server stop >/dev/null 2>&1 || systemctl stop rabbitmq-server >/dev/null 2>&1 || true
  fi
}

ensure_packages() {
  local missing=()
  dx_pg_bindir >/dev/null || missing+=(postgresql)
  [[ -x $DX_RABBIT_BIN/rabbitmq-server && -x $DX_RABBIT_BIN/rabbitmqctl ]] || missing+=(rabbitmq-server)
  command -v psql >/dev/null || missing+=(postgresql-client)
  if [[ ${#missing[@]} -gt 0 ]]; then apt_install "${missing[@]}"; fi
  dx_pg_bindir >/dev/null || dx_die "PostgreSQL server binaries not found after install"
  [[ -x $DX_RABBIT_BIN/rabbitmq-server ]] || dx_die "$DX_RABBIT_BIN/rabbitmq-server not found after install"
}

# ---------------------------------------------------------------- PostgreSQL
pg_psql() {  # psql as the bootstrap superuser over the private unix socket
  dx_as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$DX_PG_RUN" -p "$DX_PG_PORT" -U postgres -d postgres "$@"
}

pg_up() {
  local bindir; bindir="$(dx_pg_bindir)"
  if dx_is_root; then
    id postgres >/dev/null 2>&1 || dx_die "user 'postgres' missing (the postgresql package creates it)"
  fi
  mkdir -p "$DX_INFRA_DIR"; chmod 755 "$DX_INFRA_DIR"
  mkdir -p "$DX_PG_DIR" "$DX_PG_RUN"
  dx_is_root && chown postgres:postgres "$DX_PG_DIR" "$DX_PG_RUN"
  chmod 700 "$DX_PG_RUN"
  dx_as_pg test -w "$DX_PG_DIR" ||
    dx_die "$DX_PG_DIR is not writable by the postgres user (is a parent dir of DX_INFRA_DIR closed, like /root?)"

  if [[ ! -f $DX_PG_DATA/PG_VERSION ]]; then
    dx_log "initdb $DX_PG_DATA"
    rm -rf "$DX_PG_DATA"
    dx_as_pg "$bindir/initdb" -D "$DX_PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$DX_PG_DIR/initdb.log" 2>&1 ||
      { tail -n 30 "$DX_PG_DIR/initdb.log" >&2; dx_die "initdb failed (log: $DX_PG_DIR/initdb.log)"; }
    echo "include_if_exists = 'dataexchange.conf'" | dx_as_pg tee -a "$DX_PG_DATA/postgresql.conf" >/dev/null
  fi
  # Rewritten every time so a changed DX_PG_PORT applies on the next (re)start.
  dx_as_pg tee "$DX_PG_DATA/dataexchange.conf" >/dev/null <<EOF
# written by infra/up.sh
listen_addresses = '127.0.0.1'
port = $DX_PG_PORT
unix_socket_directories = '$DX_PG_RUN'
max_connections = 300
shared_buffers = 256MB
# Event payloads with a task's series (a few KB of JSON) are TOAST-compressed; lz4 costs a fraction of pglz's CPU.
default_toast_compression = lz4
EOF

  if dx_pg_running; then
    dx_log "PostgreSQL already running ($DX_PG_DATA)"
  else
    if dx_port_open "$DX_PG_PORT"; then
      dx_die "port $DX_PG_PORT is already in use by something else (set DX_PG_PORT)"
    fi
    # Left behind by a killed server; its pid may now be a zombie or another process,
    # which would make the postmaster refuse to start.
    rm -f "$DX_PG_DATA/postmaster.pid" "$DX_PG_RUN"/.s.PGSQL.*
    dx_log "starting PostgreSQL on 127.0.0.1:$DX_PG_PORT"
    dx_as_pg "$bindir/pg_ctl" -D "$DX_PG_DATA" -l "$DX_PG_LOG" -w -t "$DX_WAIT_TIMEOUT" start >/dev/null ||
      { tail -n 30 "$DX_PG_LOG" >&2 || true; dx_die "PostgreSQL failed to start within ${DX_WAIT_TIMEOUT}s (log: $DX_PG_LOG)"; }
    STARTED+=("PostgreSQL")
  fi
  local deadline=$((SECONDS + DX_WAIT_TIMEOUT))
  until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$DX_PG_PORT"; do
    dx_pg_running || { tail -n 30 "$DX_PG_LOG" >&2 || true; dx_die "PostgreSQL exited (log: $DX_PG_LOG)"; }
    [[ $SECONDS -lt $deadline ]] || dx_die "PostgreSQL not accepting connections on 127.0.0.1:$DX_PG_PORT after ${DX_WAIT_TIMEOUT}s (log: $DX_PG_LOG)"
    sleep 0.5
  done
  pg_psql <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dx') THEN
    CREATE ROLE dx LOGIN SUPERUSER PASSWORD 'dx';
  END IF;
END $$;
SELECT 'CREATE DATABASE dataexchange OWNER dx'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dataexchange') \gexec
SQL
}

# ---------------------------------------------------------------- RabbitMQ
rabbit_write_config() {
  mkdir -p "$DX_RABBIT_DIR" "$DX_RABBIT_LOG" "$DX_RABBIT_HOME" "$DX_RABBIT_DIR/mnesia"
  chmod 700 "$DX_RABBIT_HOME"
  if [[ ! -s $DX_RABBIT_HOME/.erlang.cookie ]]; then
    local letters=ABCDEFGHIJKLMNOPQRSTUVWXYZ cookie="" b
    for b in $(od -An -N32 -tu1 /dev/urandom); do cookie+="${letters:b%26:1}"; done
    (umask 077; printf '%s' "$cookie" >"$DX_RABBIT_HOME/.erlang.cookie")
  fi
  chmod 400 "$DX_RABBIT_HOME/.erlang.cookie"
  : >"$DX_RABBIT_DIR/rabbitmq-env.conf"   # keeps /etc/rabbitmq/rabbitmq-env.conf out of the picture

  local mgmt=0
  if compgen -G "/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/rabbitmq_management-*" >/dev/null; then mgmt=1; fi
  if [[ $mgmt -eq 1 ]]; then
    echo '[rabbitmq_management].' >"$DX_RABBIT_DIR/enabled_plugins"
  else
    echo '[].' >"$DX_RABBIT_DIR/enabled_plugins"
  fi
  {
    echo "# written by infra/up.sh"
    echo "listeners.tcp.1 = 127.0.0.1:$DX_RABBIT_PORT"
    echo "loopback_users.guest = true"
    echo "log.file.level = info"
    echo "log.console = false"
    # Classic queues v2 (RabbitMQ 3.10+): a cheaper message store for the services' durable queues.
    echo "classic_queue.default_version = 2"
    if [[ $mgmt -eq 1 ]]; then
      echo "management.tcp.ip = 127.0.0.1"
      echo "management.tcp.port = $DX_RABBIT_MGMT_PORT"
    fi
  } >"$DX_RABBIT_DIR/rabbitmq.conf"
  RABBIT_MGMT=$mgmt
}

rabbit_up() {
  rabbit_write_config
  if dx_rabbit_running; then
    dx_log "RabbitMQ node $DX_RABBIT_NODENAME already running"
  else
    if dx_port_open "$DX_RABBIT_PORT"; then
      dx_die "port $DX_RABBIT_PORT is in use but node $DX_RABBIT_NODENAME does not answer (another server? set DX_RABBIT_PORT)"
    fi
    dx_log "starting RabbitMQ node $DX_RABBIT_NODENAME on 127.0.0.1:$DX_RABBIT_PORT"
    rm -f "$DX_RABBIT_DIR/rabbitmq.pid"
    (
      dx_rabbit_env
      cd "$DX_RABBIT_DIR"
      exec setsid nohup "$DX_RABBIT_BIN/rabbitmq-server" >>"$DX_RABBIT_LOG/console.log" 2>&1 </dev/null
    ) &
    local launcher=$!
    disown "$launcher" 2>/dev/null || true
    local deadline=$((SECONDS + DX_WAIT_TIMEOUT))
    until dx_port_open "$DX_RABBIT_PORT"; do
      if ! kill -0 "$launcher" 2>/dev/null; then
        tail -n 40 "$DX_RABBIT_LOG/console.log" >&2 || true
        dx_die "RabbitMQ exited during startup (logs: $DX_RABBIT_LOG)"
      fi
      [[ $SECONDS -lt $deadline ]] || { tail -n 40 "$DX_RABBIT_LOG/console.log" >&2 || true
        dx_die "RabbitMQ not listening on 127.0.0.1:$DX_RABBIT_PORT after ${DX_WAIT_TIMEOUT}s (logs: $DX_RABBIT_LOG)"; }
      sleep 0.5
    done
    dx_rabbit_cli rabbitmqctl -q await_startup --timeout "$DX_WAIT_TIMEOUT" >/dev/null ||
      dx_die "RabbitMQ node $DX_RABBIT_NODENAME did not finish booting (logs: $DX_RABBIT_LOG)"
    STARTED+=("RabbitMQ")
  fi
  # User dx/dx, administrator, full rights on vhost "/". One CLI call when already set up.
  local users
  users="$(dx_rabbit_cli rabbitmqctl -q list_users --no-table-headers 2>/dev/null)" ||
    dx_die "cannot talk to RabbitMQ node $DX_RABBIT_NODENAME (logs: $DX_RABBIT_LOG)"
  if ! grep -Eq '^dx[[:space:]].*administrator' <<<"$users"; then
    dx_log "creating RabbitMQ user dx"
    if ! grep -Eq '^dx[[:space:]]' <<<"$users"; then
      dx_rabbit_cli rabbitmqctl -q add_user dx dx >/dev/null
    fi
    dx_rabbit_cli rabbitmqctl -q set_user_tags dx administrator >/dev/null
    dx_rabbit_cli rabbitmqctl -q set_permissions -p / dx '.*' '.*' '.*' >/dev/null
  fi
  dx_port_open "$DX_RABBIT_PORT" || dx_die "RabbitMQ AMQP port 127.0.0.1:$DX_RABBIT_PORT not open"
}

# ---------------------------------------------------------------- docker
docker_up() {
  dx_log "Docker engine found: docker compose up -d --wait postgres rabbitmq"
  export DX_PG_PORT DX_RABBIT_PORT DX_RABBIT_MGMT_PORT
  (cd "$DX_REPO_ROOT" && timeout "$((DX_WAIT_TIMEOUT + 120))" docker compose up -d --wait postgres rabbitmq) ||
    dx_die "docker compose services did not become healthy (docker compose logs postgres rabbitmq)"
}

write_env() {
  mkdir -p "$DX_INFRA_DIR"
  cat >"$DX_INFRA_DIR/env.sh" <<EOF
# written by infra/up.sh ($MODE mode); source it
export DX_POSTGRES='$DX_POSTGRES'
export DX_RABBITMQ='$DX_RABBITMQ'
EOF
  chmod 644 "$DX_INFRA_DIR/env.sh"
  echo "$MODE" >"$DX_INFRA_DIR/mode"
}

# The servers' ports lie inside Linux's range of ephemeral ports (32768-60999). While a server is down (a restart, the
# fault suite's broker outage), the kernel may give its port to an outgoing connection as a source port (a client
# reconnecting to that very port can even connect to itself), and the server then cannot listen again: seen once as
# RabbitMQ failing to come back after infra/restart.sh (eaddrinuse on 55672). Reserved ports are never handed out so.
reserve_ports() {
  local file=/proc/sys/net/ipv4/ip_local_reserved_ports
  local ports="$DX_PG_PORT,$DX_RABBIT_PORT,$DX_RABBIT_MGMT_PORT,$DX_RABBIT_DIST_PORT,$DX_EPMD_PORT,$((DX_EPMD_PORT + 1))-$((DX_EPMD_PORT + 11))"
  local current
  current="$(cat "$file" 2>/dev/null || true)"
  if ! { [[ -w $file ]] && echo "${current:+$current,}$ports" >"$file"; } 2>/dev/null; then
    dx_log "could not reserve the ports $ports from the ephemeral range ($file): a server restarted while clients reconnect may find its port taken"
  fi
}

# ---------------------------------------------------------------- main
MODE="$(dx_mode)"
RABBIT_MGMT=0
if [[ $MODE == docker ]]; then
  docker_up
  RABBIT_MGMT=1
else
  ensure_packages
  reserve_ports
  pg_up
  rabbit_up
fi
write_env

started="${STARTED[*]:-nothing (already running)}"
[[ $MODE == docker ]] && started="docker compose services postgres, rabbitmq"
cat <<EOF

DataExchange infrastructure is up ($MODE mode, $((SECONDS - T0))s; started: $started)
  PostgreSQL  127.0.0.1:$DX_PG_PORT  user dx / dx, database dataexchange
EOF
if [[ $MODE == native ]]; then
  cat <<EOF
              data $DX_PG_DATA, log $DX_PG_LOG
  RabbitMQ    127.0.0.1:$DX_RABBIT_PORT (AMQP)  user dx / dx (administrator, vhost /)
              node $DX_RABBIT_NODENAME, data $DX_RABBIT_DIR, logs $DX_RABBIT_LOG
EOF
  [[ $RABBIT_MGMT -eq 1 ]] && echo "              management UI http://127.0.0.1:$DX_RABBIT_MGMT_PORT/"
  echo "              CLI: $DX_REPO_ROOT/infra/rabbitmqctl.sh <command>"
else
  cat <<EOF
  RabbitMQ    127.0.0.1:$DX_RABBIT_PORT (AMQP)  user dx / dx; management UI http://127.0.0.1:$DX_RABBIT_MGMT_PORT/
EOF
fi
cat <<EOF

DX_POSTGRES=$DX_POSTGRES
DX_RABBITMQ=$DX_RABBITMQ
(also written as exports to $DX_INFRA_DIR/env.sh: source it)
EOF
