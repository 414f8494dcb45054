#!/usr/bin/env bash
# Builds promql-check (Prometheus rule files and PromQL expressions checked with Prometheus' own
# parsers, see main.go) into a cache outside the work tree, keyed by the Prometheus module version and
# a hash of the sources, and prints the binary's path on stdout. Safe to run repeatedly: a binary
# already built is reused. About 3 minutes from an empty Go build cache on 2 busy cores (`-p=1`).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

log() { printf 'promql-check: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is required to build the PromQL checker"; exit 1; }

sources=(go.mod go.sum main.go memstore.go)
hash=$(cd "$here" && cat "${sources[@]}" | sha256sum | cut -c1-12)
cache=${SIDECAR_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidecar-operator/tools}
bin="$cache/promql-check-$PROMETHEUS_MODULE_VERSION-$hash"

if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  log "building with Prometheus v$PROMETHEUS_MODULE_VERSION's rulefmt and PromQL parser"
  start=$SECONDS
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" .) >&2
  mv "$bin.tmp.$$" "$bin"
  log "built $bin in $((SECONDS - start))s"
fi
echo "$bin"
