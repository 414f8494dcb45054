#!/usr/bin/env bash
# Reconcile at scale against a control plane the runner starts (envtest binaries, `make envtest`):
# time from applying 50 policies over 1,000 namespaces to all Ready, full resync time, RSS.
# Writes the "Reconcile" section of docs/benchmarks.md (BENCH_WRITE=false only prints it;
# BENCH_NAMESPACES and BENCH_POLICIES change the scale).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec node bench/reconcile/runner.js "$@"
