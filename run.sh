#!/usr/bin/env bash
# The market's main job: the seed scenario (20 sellers x 400 steps, 120 buyer tasks) run in process by `dx simulate`.
# Extra arguments go to `dx simulate` (see `./dx help`).
set -euo pipefail
cd "$(dirname "$0")"
exec ./dx simulate "$@"
