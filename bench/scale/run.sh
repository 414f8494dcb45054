#!/usr/bin/env bash
# The operator at the size of a real cluster, against a control plane the runner starts (envtest
# binaries, `make envtest`): pods (bare, unscheduled) over 10,000 namespaces and 100 policies; the
# real `sidecar-operator run` process as shipped, each replica in a 256 MiB memory cgroup
# (BENCH_LIMIT bytes, 0: none; needs root), is started at each size and measured: start → all
# Ready, RSS (VmRSS, VmHWM, the cgroup's peak), relist after its watches are lost, leader handover,
# policy edit → Ready, resync.
# BENCH_SIZES (pods, comma-separated, default 10000,50000,150000), BENCH_NAMESPACES, BENCH_POLICIES,
# BENCH_RUNS (runs per size), BENCH_COMPARE (another checkout whose dist/ is measured beside this
# one; BENCH_COMPARE_MAX: only at sizes up to this), BENCH_TREE=true (also this checkout's compiled tree,
# beside the image's bundle that is measured by default), BENCH_WRITE=false (print, do not write
# docs/benchmarks.md). Runs niced.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec nice -n 10 node bench/scale/runner.js "$@"
