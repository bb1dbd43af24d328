#!/usr/bin/env bash
# Runs a RabbitMQ CLI tool against the private node started by infra/up.sh (native mode),
# with the node's HOME/Erlang cookie, epmd port and node name set.
#   infra/rabbitmqctl.sh list_users
#   infra/rabbitmqctl.sh --tool rabbitmq-diagnostics status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tool=rabbitmqctl
if [[ ${1:-} == --tool ]]; then tool="$2"; shift 2; fi
[[ -x $DX_RABBIT_BIN/$tool ]] || dx_die "$DX_RABBIT_BIN/$tool not found (run infra/up.sh first)"
dx_rabbit_env
exec "$DX_RABBIT_BIN/$tool" -n "$DX_RABBIT_NODENAME" "$@"
