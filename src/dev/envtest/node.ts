import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { findBinaries, type Binaries } from './binaries.js';
import { ControlPlane, probeInsecure, type ControlPlaneInfo } from './control-plane.js';
import { eventually } from './eventually.js';
import { kubeconfigYaml, loadKubeConfig } from './kubeconfig.js';
import {
  CGROUP_ROOT,
  CNI_NETWORK,
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  NODE_NAME,
  NODE_NETWORK,
  nodePaths,
  type NodePaths,
} from './node-config.js';
import { authorityFromPem, issue, type Authority } from './pki.js';
import { freePort, ManagedProcess, sleep, waitFor } from './process.js';

export interface NodeClusterOptions {
  /** CRD files or directories to install. */
  crds?: string[];
  /** OCI image archives to import into containerd before the node registers. */
  images?: string[];
  log?: (msg: string) => void;
}

export interface NodeClusterInfo extends ControlPlaneInfo {
  nodeName: string;
  nodeIP: string;
  serviceCIDR: string;
  podCIDR: string;
  bridge: string;
  containerdSocket: string;
  /** Seconds from start() to a Ready node. */
  startSeconds: number;
}

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const TEARDOWN = join(repoRoot, 'hack', 'node', 'teardown.sh');
const rootDir = join(tmpdir(), 'sidecar-node');
/** One node per machine: its bridge has a fixed name, like its addresses. */
export const NODE_BRIDGE = 'sidecar-br0';

function run(argv: string[], input?: string): string {
  const [cmd = '', ...args] = argv;
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(
      `${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim()}`,
    );
  }
  return r.stdout;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Tears down nodes left by runs whose process is gone; refuses to start beside a live one. */
function removeStaleNodes(): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(rootDir);
  } catch {
    // no earlier node
  }
  for (const entry of entries) {
    const pid = Number(entry.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid) && pid !== process.pid) {
      throw new Error(
        `another test node is running (process ${pid}, ${join(rootDir, entry)}); stop it first`,
      );
    }
    spawnSync(TEARDOWN, [join(rootDir, entry)], { stdio: 'ignore' });
  }
  // A bridge with no directory (a tear-down that could not finish) goes too.
  spawnSync('ip', ['link', 'del', NODE_BRIDGE], { stdio: 'ignore' });
}

function readSysctl(key: string): string {
  try {
    return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * A one-node cluster on this machine: the envtest control plane bound to a bridge, plus containerd,
 * the kubelet, kube-scheduler and kube-proxy (iptables mode). Needs root. Every process is tied to
 * this one, and a watchdog runs hack/node/teardown.sh when this process ends, however it ends.
 */
export class NodeCluster {
  private readonly procs: ManagedProcess[] = [];
  private cp: ControlPlane | undefined;
  private watchdog: number | undefined;
  private paths!: NodePaths;
  private env: Record<string, string> = {};
  info!: NodeClusterInfo;

  constructor(private readonly opts: NodeClusterOptions = {}) {}

  private log(msg: string): void {
    (this.opts.log ?? (() => undefined))(msg);
  }

  async start(): Promise<NodeClusterInfo> {
    const started = Date.now();
    if (process.getuid?.() !== 0) throw new Error('the test node needs root (network, mounts, cgroups)');
    const bins = findBinaries();
    for (const cmd of ['kubelet', 'kube-scheduler', 'kube-proxy', 'kubectl']) {
      if (!existsSync(join(bins.dir, cmd))) throw new Error(`${cmd} is not built: run make envtest`);
    }
    for (const tool of ['containerd', 'runc', 'ctr', 'ip', 'iptables', 'nsenter']) {
      if (spawnSync('which', [tool]).status !== 0)
        throw new Error(`${tool} is missing: run make system-deps`);
    }
    removeStaleNodes();
    mkdirSync(rootDir, { recursive: true });
    const dir = join(rootDir, `${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.paths = nodePaths(dir);
    this.snapshotOutside(dir);
    this.env = {
      BRIDGE: NODE_BRIDGE,
      CGROUP_ROOT,
      CNI_NETWORK,
      SYSCTL_BRIDGE_NF: readSysctl('net.bridge.bridge-nf-call-iptables'),
      SYSCTL_BRIDGE_NF6: readSysctl('net.bridge.bridge-nf-call-ip6tables'),
    };
    this.writeEnv();
    this.startWatchdog(dir);
    try {
      this.createNetwork();
      this.createCgroupRoot();
      // containerd first: the images unpack while the control plane starts.
      await this.startContainerd();
      const imported = this.importImages(this.opts.images ?? []);
      imported.catch(() => undefined); // awaited below; a failure before then must not go unhandled
      this.cp = new ControlPlane({
        controllerManager: true,
        crds: this.opts.crds,
        nodeNetwork: NODE_NETWORK,
        log: (m) => this.log(m),
      });
      const cpInfo = await this.cp.start();
      this.recordPids();
      await imported;
      writeFileSync(join(dir, 'cni', 'net.d', '10-sidecar-node.conflist'), cniConfig(dir, NODE_BRIDGE));
      await this.startKubelet(bins, cpInfo);
      await this.startScheduler(bins, cpInfo);
      await this.startKubeProxy(bins, cpInfo);
      await this.waitForNodeReady(cpInfo);
      this.info = {
        ...cpInfo,
        nodeName: NODE_NAME,
        nodeIP: NODE_NETWORK.address,
        serviceCIDR: NODE_NETWORK.serviceCIDR,
        podCIDR: NODE_NETWORK.podCIDR,
        bridge: NODE_BRIDGE,
        containerdSocket: this.paths.containerdSocket,
        startSeconds: (Date.now() - started) / 1000,
      };
      return this.info;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** What exists outside the directory before the node writes there (tear-down removes the rest). */
  private snapshotOutside(dir: string): void {
    const r = spawnSync(
      'bash',
      [
        '-c',
        'for p in /run/containerd /var/lib/cni /var/log/containers /var/lib/kubelet; do [ -e "$p" ] && find "$p" -maxdepth 2; done; true',
      ],
      { encoding: 'utf8' },
    );
    writeFileSync(join(dir, 'outside.before'), r.stdout);
  }

  private writeEnv(): void {
    const lines = Object.entries(this.env).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    writeFileSync(join(this.paths.dir, 'node.env'), lines.join('\n') + '\n');
  }

  private recordPids(): void {
    this.env.PIDS = [...(this.cp?.pids() ?? []), ...this.pids()].join(' ');
    this.writeEnv();
  }

  private startWatchdog(dir: string): void {
    const child = spawn('setsid', [TEARDOWN, '--wait-pid', String(process.pid), dir], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    this.watchdog = child.pid;
  }

  private createNetwork(): void {
    const n = NODE_NETWORK;
    run(['ip', 'link', 'add', NODE_BRIDGE, 'type', 'bridge']);
    run(['ip', 'addr', 'add', `${n.address}/24`, 'dev', NODE_BRIDGE]);
    run(['ip', 'link', 'set', NODE_BRIDGE, 'up']);
    // The host reaches Service addresses (the API server calling a webhook through its Service) from
    // the bridge's address: without this route it would use the default route's source address,
    // which no pod can answer.
    run(['ip', 'route', 'add', n.serviceCIDR, 'dev', NODE_BRIDGE, 'src', n.address]);
    // A pod reaching another pod through a Service is DNATed by the host and must come back through
    // it: bridged traffic through iptables, and forwarding on this bridge only.
    run(['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
    run(['sysctl', '-qw', `net.ipv4.conf.${NODE_BRIDGE}.forwarding=1`]);
    // Nothing that enters from the bridge may be forwarded anywhere but back onto it.
    run(['iptables', '-N', 'SIDECAR-NODE-FWD']);
    run(['iptables', '-A', 'SIDECAR-NODE-FWD', '-o', NODE_BRIDGE, '-j', 'ACCEPT']);
    run(['iptables', '-A', 'SIDECAR-NODE-FWD', '-j', 'DROP']);
    run(['iptables', '-I', 'FORWARD', '1', '-i', NODE_BRIDGE, '-j', 'SIDECAR-NODE-FWD']);
    mkdirSync(join(this.paths.dir, 'cni', 'net.d'), { recursive: true });
  }

  /** The kubelet's cgroup root in every v1 hierarchy (cpuset needs its parent's CPUs and memory nodes). */
  private createCgroupRoot(): void {
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const base = join('/sys/fs/cgroup', h);
      if (!existsSync(join(base, 'cgroup.procs'))) continue;
      const d = join(base, CGROUP_ROOT);
      mkdirSync(d, { recursive: true });
      if (h === 'cpuset') {
        for (const f of ['cpuset.cpus', 'cpuset.mems'])
          writeFileSync(join(d, f), readFileSync(join(base, f)));
      }
    }
  }

  private spawnDaemon(name: string, binary: string, args: string[]): ManagedProcess {
    const proc = new ManagedProcess(name, binary, args, join(this.paths.dir, `${name}.log`));
    proc.start();
    this.procs.push(proc);
    this.recordPids();
    return proc;
  }

  private async startContainerd(): Promise<void> {
    const config = join(this.paths.dir, 'containerd.toml');
    writeFileSync(config, containerdConfig(this.paths));
    const proc = this.spawnDaemon('containerd', 'containerd', ['--config', config, '--log-level', 'warn']);
    await waitFor('its socket', proc, () => Promise.resolve(this.ctr(['version']) !== undefined), 30_000);
    this.log('containerd ready');
  }

  private ctr(args: string[]): string | undefined {
    const r = spawnSync('ctr', ['--address', this.paths.containerdSocket, '--namespace', 'k8s.io', ...args], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    return r.status === 0 ? r.stdout : undefined;
  }

  /** Imports OCI archives into containerd's Kubernetes namespace (pods then use imagePullPolicy: Never). */
  async importImages(archives: string[]): Promise<void> {
    const t0 = Date.now();
    await Promise.all(
      archives.map(
        (archive) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(
              'ctr',
              [
                '--address',
                this.paths.containerdSocket,
                '--namespace',
                'k8s.io',
                'images',
                'import',
                archive,
              ],
              {
                stdio: ['ignore', 'ignore', 'pipe'],
              },
            );
            let stderr = '';
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('error', reject);
            child.on('close', (code) =>
              code === 0 ? resolve() : reject(new Error(`importing ${archive} failed: ${stderr.trim()}`)),
            );
          }),
      ),
    );
    if (archives.length)
      this.log(`imported ${archives.length} image(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** Image references containerd holds for the node. */
  images(): string[] {
    return (this.ctr(['images', 'list', '-q']) ?? '').split('\n').filter(Boolean);
  }

  private async credentials(
    cpInfo: ControlPlaneInfo,
  ): Promise<{ clientCA: Authority; servingCA: Authority }> {
    return {
      clientCA: await authorityFromPem(cpInfo.clientCA),
      servingCA: await authorityFromPem(cpInfo.servingCA),
    };
  }

  private async writeKubeconfig(
    cpInfo: ControlPlaneInfo,
    file: string,
    user: string,
    groups: string[],
  ): Promise<string> {
    const { clientCA } = await this.credentials(cpInfo);
    const cred = await issue(clientCA, { commonName: user, organizations: groups, usage: 'client' });
    const path = join(this.paths.dir, file);
    writeFileSync(path, kubeconfigYaml(cpInfo.server, cpInfo.servingCA.certPem, user, cred), { mode: 0o600 });
    return path;
  }

  private async startKubelet(bins: Binaries, cpInfo: ControlPlaneInfo): Promise<void> {
    const dir = this.paths.dir;
    const { servingCA } = await this.credentials(cpInfo);
    const serving = await issue(servingCA, {
      commonName: NODE_NAME,
      dnsNames: [NODE_NAME],
      ipAddresses: [NODE_NETWORK.address],
      usage: 'server',
    });
    writeFileSync(join(dir, 'kubelet.crt'), serving.certPem, { mode: 0o600 });
    writeFileSync(join(dir, 'kubelet.key'), serving.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'client-ca.crt'), cpInfo.clientCA.certPem);
    const kubeconfig = await this.writeKubeconfig(cpInfo, 'kubelet.kubeconfig', `system:node:${NODE_NAME}`, [
      'system:nodes',
    ]);
    const ports = { port: await freePort(), healthzPort: await freePort() };
    const config = join(dir, 'kubelet.yaml');
    writeFileSync(config, kubeletConfig(this.paths, ports));
    mkdirSync(join(dir, 'pod-logs'), { recursive: true });
    const proc = this.spawnDaemon('kubelet', join(bins.dir, 'kubelet'), [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--cert-dir=${join(dir, 'kubelet-pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_NETWORK.address}`,
      '--v=1',
    ]);
    await waitFor(
      '/healthz',
      proc,
      async () => (await fetch(`http://127.0.0.1:${ports.healthzPort}/healthz`)).ok,
      60_000,
    );
    this.log('kubelet healthy');
  }

  private async startScheduler(bins: Binaries, cpInfo: ControlPlaneInfo): Promise<void> {
    const kubeconfig = await this.writeKubeconfig(
      cpInfo,
      'kube-scheduler.kubeconfig',
      'system:kube-scheduler',
      [],
    );
    const port = await freePort();
    const proc = this.spawnDaemon('kube-scheduler', join(bins.dir, 'kube-scheduler'), [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.paths.dir, 'scheduler-certs')}`,
    ]);
    await waitFor('/healthz', proc, () => probeInsecure(`https://127.0.0.1:${port}/healthz`), 60_000);
    this.log('kube-scheduler ready');
  }

  private async startKubeProxy(bins: Binaries, cpInfo: ControlPlaneInfo): Promise<void> {
    await this.writeKubeconfig(cpInfo, 'kube-proxy.kubeconfig', 'system:kube-proxy', []);
    const ports = { healthz: await freePort(), metrics: await freePort() };
    const config = join(this.paths.dir, 'kube-proxy.yaml');
    writeFileSync(config, kubeProxyConfig(this.paths.dir, ports));
    const proc = this.spawnDaemon('kube-proxy', join(bins.dir, 'kube-proxy'), [
      `--config=${config}`,
      '--v=1',
    ]);
    // /healthz turns 200 after the first full sync of Services into iptables.
    await waitFor(
      '/healthz',
      proc,
      async () => (await fetch(`http://127.0.0.1:${ports.healthz}/healthz`)).ok,
      60_000,
    );
    this.log('kube-proxy synced');
  }

  private async waitForNodeReady(cpInfo: ControlPlaneInfo): Promise<void> {
    const core = loadKubeConfig(cpInfo.adminKubeconfig).makeApiClient(CoreV1Api);
    await eventually(
      async () => {
        for (const p of this.procs) {
          if (!p.running) throw new Error(`${p.name} exited (code ${p.exitCode}):\n${p.logTail()}`);
        }
        const node = await core.readNode({ name: NODE_NAME }).catch(() => undefined);
        return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? node
          : undefined;
      },
      { what: `node ${NODE_NAME} Ready`, timeoutMs: 90_000, intervalMs: 250 },
    );
    this.log(`node ${NODE_NAME} Ready`);
  }

  /**
   * Deletes every pod while the kubelet still runs (so network and volumes are released the normal
   * way), then stops the processes and runs the tear-down that removes everything else.
   */
  async stop(): Promise<void> {
    if (this.cp?.info && this.procs.some((p) => p.name === 'kubelet' && p.running)) {
      await this.drainPods(this.cp.info).catch((err: unknown) => this.log(`drain: ${String(err)}`));
    }
    for (const proc of [...this.procs].reverse()) await proc.stop(5_000);
    this.procs.length = 0;
    const dir = this.paths?.dir;
    await this.cp?.stop();
    if (this.watchdog !== undefined) {
      try {
        process.kill(this.watchdog, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) spawnSync(TEARDOWN, [dir], { stdio: 'ignore' });
  }

  private async drainPods(cpInfo: ControlPlaneInfo): Promise<void> {
    // Without a scheduler the pods that controllers create in place of the deleted ones stay
    // Pending, so the node empties instead of restarting them until the deadline.
    await this.procs.find((p) => p.name === 'kube-scheduler')?.stop(5_000);
    const core = loadKubeConfig(cpInfo.adminKubeconfig).makeApiClient(CoreV1Api);
    const pods = await core.listPodForAllNamespaces();
    for (const pod of pods.items) {
      await core
        .deleteNamespacedPod({
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          gracePeriodSeconds: 0,
        })
        .catch(() => undefined);
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const running = this.ctr(['tasks', 'list', '-q']);
      if (!running?.trim()) return;
      await sleep(500);
    }
  }

  /** PIDs of the daemons this node started (the control plane's included). */
  pids(): number[] {
    return [...(this.cp?.pids() ?? []), ...this.procs.map((p) => p.pid)].filter(
      (p): p is number => p !== undefined,
    );
  }

  get dir(): string {
    return this.paths.dir;
  }
}
