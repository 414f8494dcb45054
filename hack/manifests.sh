#!/usr/bin/env bash
# Keeps the Helm chart's CRDs identical to crds/ (the source of truth).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=charts/sidecar-operator/crds
[ -d charts/sidecar-operator ] || exit 0
mkdir -p "$dest"
rm -f "$dest"/*.yaml
cp crds/*.yaml "$dest"/
