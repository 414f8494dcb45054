#!/usr/bin/env bash
# Injection throughput: in-process (10-container pod) and through the CLI (1,000-document manifest).
# Writes the "Injection" section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec node bench/inject/runner.js "$@"
