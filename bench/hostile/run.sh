#!/usr/bin/env bash
# Cost of hostile admission reviews in process (decode, decide, inject, encode, Event): a family of
# shapes at 10k, 100k and 1M characters, and the slope of time against size (1 = linear).
# Writes the "Hostile reviews" section of docs/benchmarks.md (not with --no-write); exits 1 if a slope
# between 100k and 1M is above 1.3 for a review that takes 20 ms or more.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
exec node --expose-gc bench/hostile/runner.js "$@"
