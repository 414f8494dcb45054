#!/usr/bin/env bash
# Builds envoy-validate (Envoy bootstrap files checked against Envoy's API schema, see main.go) into a
# cache outside the work tree, keyed by the Envoy API version and a hash of the sources, and prints the
# binary's path on stdout. Safe to run repeatedly: a binary already built is reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

log() { printf 'envoy-validate: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is required to build the Envoy bootstrap validator"; exit 1; }

sources=(go.mod go.sum main.go imports.go)
hash=$(cd "$here" && cat "${sources[@]}" | sha256sum | cut -c1-12)
cache=${SIDECAR_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidecar-operator/tools}
bin="$cache/envoy-validate-$ENVOY_API_VERSION-$hash"

if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  log "building for Envoy API v$ENVOY_API_VERSION (the first build takes a few minutes)"
  start=$SECONDS
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp.$$" .) >&2
  mv "$bin.tmp.$$" "$bin"
  log "built $bin in $((SECONDS - start))s"
fi
echo "$bin"
