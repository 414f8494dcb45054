#!/usr/bin/env bash
# Builds the benchmark peers from the Go module proxy into a cache outside the work tree, keyed by
# the Istio version (and, for our webhook main, a hash of its sources), and prints the cache
# directory on stdout. Reused when present. The directory holds:
#   bin/istioctl                 istio.io/istio/istioctl/cmd/istioctl, `go install`ed
#   bin/istio-webhook-<hash>     bench/peers/istio-webhook: Istio's injection webhook, wired as istiod wires it
#   inject/{config,values,mesh}  Istio's default injection template, values and mesh config, rendered
#                                offline by `istioctl manifest generate`
# The first build compiles istioctl and most of Kubernetes' client libraries: about half an hour on
# 2 cores. It runs at the lowest priority (nice 19); GOFLAGS=-p=1 keeps it to one compile at a time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

log() { printf 'bench/peers: %s\n' "$*" >&2; }
command -v go >/dev/null || { log "go is required to build the peers"; exit 1; }

cache=${SIDECAR_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidecar-operator/tools}
dir="$cache/istio-$ISTIO_MODULE_VERSION"
mkdir -p "$dir/bin"

if [ ! -x "$dir/bin/istioctl" ]; then
  log "building istioctl $ISTIO_MODULE_VERSION (the first build takes about half an hour on 2 cores)"
  start=$SECONDS
  tmp="$dir/bin.tmp.$$"
  GOBIN="$tmp" nice -n 19 go install -trimpath -ldflags "-s -w" \
    "istio.io/istio/istioctl/cmd/istioctl@$ISTIO_MODULE_VERSION" >&2
  mv "$tmp/istioctl" "$dir/bin/istioctl"
  rmdir "$tmp"
  log "built istioctl in $((SECONDS - start))s"
fi

hash=$(cd "$here/istio-webhook" && cat go.mod go.sum main.go | sha256sum | cut -c1-12)
webhook="$dir/bin/istio-webhook-$hash"
if [ ! -x "$webhook" ]; then
  log "building Istio's injection webhook (bench/peers/istio-webhook)"
  start=$SECONDS
  (cd "$here/istio-webhook" && nice -n 19 go build -trimpath -ldflags "-s -w" -o "$webhook.tmp.$$" .) >&2
  mv "$webhook.tmp.$$" "$webhook"
  log "built $webhook in $((SECONDS - start))s"
fi
ln -sf "$(basename "$webhook")" "$dir/bin/istio-webhook"

if [ ! -s "$dir/inject/mesh" ]; then
  log "rendering Istio's default injection template, values and mesh config (istioctl manifest generate)"
  "$dir/bin/istioctl" manifest generate >"$dir/manifest.yaml"
  rm -rf "$dir/inject.tmp.$$"
  node "$here/extract-injector.js" "$dir/manifest.yaml" "$dir/inject.tmp.$$"
  rm -rf "$dir/inject"
  mv "$dir/inject.tmp.$$" "$dir/inject"
fi
echo "$dir"
