#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, etcd), the node's
# Kubernetes commands (kubelet, kube-scheduler, kube-proxy, kubectl) and helm from their Go
# modules into a cache outside the work tree, keyed by version. Prints the bin directory on stdout.
# Safe to run repeatedly: anything already built is reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${SIDECAR_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidecar-operator/envtest}
bin="$cache/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"
mkdir -p "$bin" "$cache/src"

log() { printf 'envtest: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is required to build the test control plane"; exit 1; }

k8s_minor=${KUBERNETES_VERSION#*.}
k8s_minor=${k8s_minor%%.*}
staging_version="v0.${KUBERNETES_VERSION#*.}"

# Every staging module k8s.io/kubernetes requires at v0.0.0 must be replaced by its published tag.
staging_modules=(
  api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
  kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller streaming
)

# new_module DIR NAME: an empty module to build tools from.
new_module() {
  rm -rf "$1" && mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1)
}

build_kubernetes() {
  local src="$cache/src/kubernetes-$KUBERNETES_VERSION"
  new_module "$src" sidecar-operator.dev/envtest/kubernetes
  cd "$src"
  local m
  for m in "${staging_modules[@]}"; do
    go mod edit -replace "k8s.io/$m=k8s.io/$m@$staging_version"
  done
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
  local c pkgs=()
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go get "${pkgs[@]/%/@v$KUBERNETES_VERSION}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
  # One invocation for every command, so the packages they share compile once.
  rm -rf "$bin/k8s.tmp" && mkdir -p "$bin/k8s.tmp"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/k8s.tmp/" "${pkgs[@]}"
  for c in "${cmds[@]}"; do mv "$bin/k8s.tmp/$c" "$bin/$c"; done
  rmdir "$bin/k8s.tmp"
}

build_etcd() {
  local src="$cache/src/etcd-$ETCD_VERSION"
  new_module "$src" sidecar-operator.dev/envtest/etcd
  cd "$src"
  cat > main.go <<'GO'
// Command etcd runs the etcd server for the test control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" .
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_helm() {
  local src="$cache/src/helm-$HELM_VERSION"
  new_module "$src" sidecar-operator.dev/envtest/helm
  cd "$src"
  go get "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/helm.tmp" helm.sh/helm/v3/cmd/helm
  mv "$bin/helm.tmp" "$bin/helm"
}

all_present() {
  local c
  for c in "$@"; do [ -x "$bin/$c" ] || return 1; done
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kubernetes helm)
for component in "${want[@]}"; do
  case "$component" in
    kubernetes) all_present kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl && continue ;;
    etcd) [ -x "$bin/etcd" ] && continue ;;
    helm) [ -x "$bin/helm" ] && continue ;;
    *) log "unknown component $component"; exit 2 ;;
  esac
  log "building $component (first build takes several minutes; later runs reuse $bin)"
  start=$SECONDS
  ( "build_$component" ) >&2
  log "built $component in $((SECONDS - start))s"
done
echo "$bin"
