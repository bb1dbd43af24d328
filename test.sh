#!/usr/bin/env bash
# Runs every test of the repository (README's test command; .ci/run calls exactly this).
# Brings up what the tests need, builds in Release, runs all test projects, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

results="$(pwd)/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

# Integration tests talk to real PostgreSQL and RabbitMQ on loopback: bring them up (idempotent, installs when missing).
if ! bash infra/up.sh; then echo "infra/up.sh failed: cannot run the integration tests"; echo "0 passed, 1 failed"; exit 1; fi
# The settlement report's HTML is checked in a real headless browser: Debian's chromium, installed when missing.
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -eq 0 ]; then (apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; }) || echo "chromium could not be installed: the HTML report test will fail"
  else echo "chromium is missing (as root: apt-get install -y chromium): the HTML report test will fail"; fi
fi
# shellcheck disable=SC1091
source "$(bash -c 'source infra/lib.sh; echo "$DX_INFRA_DIR"')/env.sh"
export DX_POSTGRES DX_RABBITMQ

dotnet test DataExchange.sln -c Release --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

passed=0; failed=0
for f in "$results"/*.trx; do
  [ -e "$f" ] || continue
  p=$(grep -o '<Counters [^>]*' "$f" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
  x=$(grep -o '<Counters [^>]*' "$f" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${x:-0}))
done
# A test host that crashed or a build that broke reports no failed test; it is still a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
