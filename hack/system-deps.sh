#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (a new machine has none).
set -euo pipefail
need=()
command -v iptables-restore >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
# The network-namespace tests run small TCP peers as the proxy UID, which needs a system-wide python3.
[ -x /usr/bin/python3 ] || need+=(python3-minimal)
command -v setpriv >/dev/null || need+=(util-linux)
# The test node (src/dev/envtest/node.ts) and the images built without Docker (hack/image).
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v gcc >/dev/null || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v strip >/dev/null || need+=(binutils)
# The completion tests run the generated bash, zsh and fish scripts in those shells.
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]}; install them (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
