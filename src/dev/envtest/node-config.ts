import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * Addresses of the test node. Everything sits in the benchmarking range 198.18.0.0/15, on a bridge
 * this process creates: pods have routes to the node's ranges only, and the host forwards nothing
 * that leaves the bridge, so no pod traffic can leave the machine.
 */
export const NODE_NETWORK = {
  /** The bridge's own address: the node IP, the pods' gateway and where the API server listens. */
  address: '198.19.0.1',
  podCIDR: '198.19.0.0/24',
  podRangeStart: '198.19.0.10',
  podRangeEnd: '198.19.0.250',
  serviceCIDR: '198.19.1.0/24',
  /** The `kubernetes` Service's ClusterIP (the first address of the Service range). */
  serviceIP: '198.19.1.1',
  /** What pods route through the gateway: the pod and Service ranges, nothing else. */
  routed: '198.19.0.0/16',
} as const;

export const NODE_NAME = 'sidecar-node';
export const CNI_NETWORK = 'sidecar-node';
export const CGROUP_ROOT = '/sidecar-node';
/** The sandbox image every pod starts with, imported from a local build (no registry). */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

export interface NodePaths {
  dir: string;
  containerdSocket: string;
}

export function nodePaths(dir: string): NodePaths {
  return { dir, containerdSocket: join(dir, 'containerd', 'containerd.sock') };
}

/** containerd 1.6 configuration: every path in the node's directory; the CRI settings NODE.md lists. */
export function containerdConfig(p: NodePaths): string {
  const c = join(p.dir, 'containerd');
  return `version = 2
root = "${c}/root"
state = "${c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${p.containerdSocket}"

[ttrpc]
  address = "${p.containerdSocket}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # The machine's capability bounding set lacks CAP_SYS_RESOURCE: without this every sandbox fails.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${c}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${p.dir}/cni/net.d"
`;
}

/** The CNI network: a bridge on the node's address, host-local addresses, no masquerade. */
export function cniConfig(dir: string, bridge: string): string {
  const n = NODE_NETWORK;
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: CNI_NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: join(dir, 'cni', 'ipam'),
            ranges: [
              [
                {
                  subnet: n.podCIDR,
                  rangeStart: n.podRangeStart,
                  rangeEnd: n.podRangeEnd,
                  gateway: n.address,
                },
              ],
            ],
            routes: [{ dst: n.routed }],
          },
        },
      ],
    },
    null,
    2,
  );
}

export interface KubeletPorts {
  port: number;
  healthzPort: number;
}

/** KubeletConfiguration with the settings this machine needs (NODE.md). */
export function kubeletConfig(p: NodePaths, ports: KubeletPorts): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The host has cgroup v1 controllers; 1.36 refuses them unless told.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    // Pods' cgroups under a root of our own, so tear-down removes exactly ours.
    cgroupRoot: CGROUP_ROOT,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    imageServiceEndpoint: `unix://${p.containerdSocket}`,
    podLogsDir: join(p.dir, 'pod-logs'),
    address: NODE_NETWORK.address,
    port: ports.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.healthzPort,
    tlsCertFile: join(p.dir, 'kubelet.crt'),
    tlsPrivateKeyFile: join(p.dir, 'kubelet.key'),
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: join(p.dir, 'client-ca.crt') },
    },
    authorization: { mode: 'Webhook' },
    // Locally imported images cannot be pulled again: never collect them; a busy disk must not
    // evict the test's pods.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    serializeImagePulls: false,
    resolvConf: '/etc/resolv.conf',
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '5s',
    shutdownGracePeriod: '0s',
    maxPods: 60,
  });
}

/** kube-proxy in iptables mode; no cluster CIDR, so it marks nothing for masquerade but hairpin traffic. */
export function kubeProxyConfig(dir: string, ports: { healthz: number; metrics: number }): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: join(dir, 'kube-proxy.kubeconfig') },
    mode: 'iptables',
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_NETWORK.address,
    healthzBindAddress: `127.0.0.1:${ports.healthz}`,
    metricsBindAddress: `127.0.0.1:${ports.metrics}`,
    nodePortAddresses: [`${NODE_NETWORK.address}/32`],
    // Leave the host's conntrack settings alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { masqueradeAll: false, localhostNodePorts: false, syncPeriod: '30s', minSyncPeriod: '0s' },
  });
}
