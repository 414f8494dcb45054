#!/usr/bin/env bash
# Lints the chart and renders it with the default values and with each charts/sidecar-operator/ci/*.yaml
# (HA off, cert-manager on, every option set). Usage: hack/helm-lint.sh <helm-binary>
set -euo pipefail
cd "$(dirname "$0")/.."
helm=${1:?usage: hack/helm-lint.sh <helm-binary>}
chart=charts/sidecar-operator

if ! diff -r crds "$chart/crds" >/dev/null; then
  echo "helm-lint: $chart/crds differs from crds/: run make manifests" >&2
  exit 1
fi

app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chart/Chart.yaml")
pkg_version=$(node -p 'require("./package.json").version')
if [ "$app_version" != "$pkg_version" ]; then
  echo "helm-lint: Chart.yaml appVersion $app_version != package.json version $pkg_version" >&2
  exit 1
fi

run() {
  local label=$1
  shift
  echo "== $label"
  "$helm" lint --strict "$chart" "$@"
  "$helm" template lint-check "$chart" --namespace sidecar-system "$@" >/dev/null
}

run "default values"
for values in "$chart"/ci/*.yaml; do
  run "$values" --values "$values"
done
echo "helm-lint: ok"
