#!/usr/bin/env bash
# Removes everything a test node (src/dev/envtest/node.ts) made, whether or not the process that started
# it is still alive: container processes, mounts, the bridge, cgroups, iptables chains, sysctls, the
# files containerd and the kubelet write outside the node's directory, then the directory itself.
# Idempotent.
#   teardown.sh DIR                 clean up now
#   teardown.sh --wait-pid PID DIR  wait until PID has exited, then clean up (the watchdog that
#                                   covers a test run killed with SIGKILL)
set -uo pipefail

if [ "${1:-}" = "--wait-pid" ]; then
  pid=$2
  shift 2
  while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
fi
dir=${1:?usage: teardown.sh [--wait-pid PID] DIR}
[ -f "$dir/node.env" ] || { rm -rf "$dir"; exit 0; }
# BRIDGE, CGROUP_ROOT, CNI_NETWORK, SYSCTL_* (values to restore), PIDS (our daemons)
# shellcheck disable=SC1091
source "$dir/node.env"

# 1. Our daemons (kubelet, containerd, kube-proxy, scheduler) if still alive, by the PIDs recorded.
for p in ${PIDS:-}; do kill -KILL "$p" 2>/dev/null; done

# 2. Shims started by our containerd (they are daemons: their parent is not us) and every process in
#    the pods' cgroups.
for p in $(pgrep -f "containerd-shim.*$dir/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
cgroup_pids() {
  local d
  for d in /sys/fs/cgroup/*"$CGROUP_ROOT" /sys/fs/cgroup/unified"$CGROUP_ROOT"; do
    [ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(cgroup_pids)
  [ -z "$pids" ] && break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.3
done

# 3. Mounts under the directory (container roots, secrets, network namespaces), deepest first.
for pass in 1 2 3; do
  mounts=$(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  [ -z "$mounts" ] && break
  for m in $mounts; do
    if [ "$pass" -lt 3 ]; then umount "$m" 2>/dev/null; else umount -l "$m" 2>/dev/null; fi
  done
done

# 4. Cgroups, deepest first, in every hierarchy.
for d in /sys/fs/cgroup/*"$CGROUP_ROOT" /sys/fs/cgroup/unified"$CGROUP_ROOT"; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# 5. The bridge and the forwarding guard; sysctls back to what they were.
ip link del "$BRIDGE" 2>/dev/null
for save in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do
  command -v "$save" >/dev/null || continue
  restore=${save/-save/-restore}
  before=$("$save" 2>/dev/null) || continue
  # Drop the chains Kubernetes, the CNI plugins and the node guard create, and every rule that
  # names one of them; leave everything else exactly as it was.
  after=$(printf '%s\n' "$before" | awk '
    /^\*/ { print; next }
    /^:(KUBE-|CNI-|SIDECAR-NODE)/ { next }
    /^-A / && ($2 ~ /^(KUBE-|CNI-|SIDECAR-NODE)/ || $0 ~ / -j (KUBE-|CNI-|SIDECAR-NODE)/ || $0 ~ / -g (KUBE-|CNI-|SIDECAR-NODE)/) { next }
    { print }')
  [ "$before" = "$after" ] || printf '%s\n' "$after" | "$restore" 2>/dev/null
done
[ -n "${SYSCTL_BRIDGE_NF:-}" ] && sysctl -qw net.bridge.bridge-nf-call-iptables="$SYSCTL_BRIDGE_NF" 2>/dev/null
[ -n "${SYSCTL_BRIDGE_NF6:-}" ] && sysctl -qw net.bridge.bridge-nf-call-ip6tables="$SYSCTL_BRIDGE_NF6" 2>/dev/null

# 6. Files written outside the directory: CNI results of our network, container log links into the
#    directory, and what containerd and the kubelet create that did not exist before the node started.
rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null
for l in /var/log/containers/*; do
  [ -L "$l" ] || continue
  case "$(readlink "$l")" in "$dir"/*) rm -f "$l" ;; esac
done
while read -r created; do
  [ -n "$created" ] && rm -rf "$created"
done < <(comm -13 <(sort "$dir/outside.before" 2>/dev/null) <(
  for p in /run/containerd /var/lib/cni /var/log/containers /var/lib/kubelet; do
    [ -e "$p" ] && find "$p" -maxdepth 2 2>/dev/null
  done | sort) | sort -r)

rm -rf "$dir"
exit 0
