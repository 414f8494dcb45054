#!/usr/bin/env bash
# One webhook process against node:cluster workers sharing its port, interleaved (make bench-workers):
# whether a replica gains from more than one core. Writes the "Cores" section of docs/benchmarks.md.
# ROUNDS (5), DURATION (10), WORKERS (2).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
exec node bench/workers/runner.js "$tmp/cert.pem" "$tmp/key.pem" "$@"
