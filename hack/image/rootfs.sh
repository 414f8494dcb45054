#!/usr/bin/env bash
# Builds a minimal Debian root filesystem with debootstrap into a cache outside the work tree, keyed
# by suite and package list, and prints its path. The operator image is that root filesystem plus
# the files the Dockerfile's runtime stage adds (see hack/image/build.sh). Reused once built.
#   rootfs.sh PACKAGE...
set -euo pipefail

suite=${SIDECAR_ROOTFS_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
cache=${SIDECAR_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidecar-operator/images}
packages=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
dir="$cache/rootfs-$suite-$key"

log() { printf 'image: %s\n' "$*" >&2; }

if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { log "debootstrap needs root"; exit 1; }
command -v debootstrap >/dev/null || { log "debootstrap is missing: run make system-deps"; exit 1; }

# The machine's own Debian mirror (deb822 or one-line sources), so nothing but it is contacted.
mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)
[ -n "$mirror" ] || { log "no Debian mirror in /etc/apt/sources*"; exit 1; }

log "debootstrap $suite ($packages) from $mirror into $dir (a few minutes, once)"
start=$SECONDS
rm -rf "$dir.tmp" && mkdir -p "$cache"
debootstrap --variant=minbase ${packages:+--include="$packages"} "$suite" "$dir.tmp" "$mirror" >&2
# Caches and logs a Docker build would drop too: they only make the image larger.
rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb "$dir.tmp"/var/lib/apt/lists/* "$dir.tmp"/var/log/*
rm -rf "$dir" && mv "$dir.tmp" "$dir"
touch "$dir/.complete"
log "rootfs ready in $((SECONDS - start))s"
echo "$dir"
