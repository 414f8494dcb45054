#!/usr/bin/env bash
# The proxy's bootstrap: render time, size, what it adds to a pod and to admission, and the cost of
# writing it when the pod starts. Writes the "Proxy bootstrap" section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec node bench/bootstrap/runner.js "$@"
