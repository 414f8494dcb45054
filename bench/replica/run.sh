#!/usr/bin/env bash
# What one replica of the operator costs in memory, as the compiled tree, as the bundle the image
# ships, and with the chart's runtime settings: leader and standby idle, the leader under admission
# load (make bench-replica). Starts its own control plane (envtest binaries, `make envtest`).
# ROUNDS (3), DURATION (10), POLICIES, NAMESPACES, PODS, VARIANTS, EXTRA_VARIANTS,
# BENCH_WRITE=false (print, do not write docs/benchmarks.md). Runs niced.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec nice -n 10 node bench/replica/runner.js "$@"
