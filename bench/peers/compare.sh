#!/usr/bin/env bash
# Ours against Istio, interleaved in one run (make bench-peers): the webhook (reviews/s and p99 for a
# 10-container pod over 8 connections, p50 for a 64 KB pod, replica RSS idle and under load) and the
# CLI (`inject` on a 1,000-document manifest and on the 64 KB pod, start-up). Builds the peers first
# (bench/peers/build.sh; the first build takes about half an hour). Prints ratios with min/median/max
# and writes the "Against Istio" section of docs/benchmarks.md. ROUNDS=<n> (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
peers=$(bench/peers/build.sh)
tsc -p tsconfig.build.json >/dev/null || echo "warning: tsc reported errors; benchmarking what was emitted" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
exec node bench/peers/runner.js "$peers" "$tmp" "$@"
