#!/usr/bin/env bash
# One replica as shipped, in a cgroup v1 memory cgroup (LIMIT, 256 MiB), under half an hour of mixed
# admission traffic: valid, fuzzed and hostile reviews, silent and slow connections (make bench-soak).
# Records the RSS plateau; fails on a 5xx, an OOM kill or the replica exiting. Needs root (it
# creates the cgroup) and the envtest binaries (`make envtest`).
# DURATION (1800 s), RATE (60 reviews/s), LIMIT (bytes), SEED (1),
# BENCH_WRITE=false (print, do not write docs/benchmarks.md). Runs niced.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec nice -n 10 node bench/soak/runner.js "$@"
