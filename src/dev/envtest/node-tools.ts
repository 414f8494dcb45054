// Helpers for working with a NodeCluster the way a user would (helm, kubectl, the CLI), shared by
// the end-to-end tests and the node demo.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { isAlreadyExists } from '../../kube/errors.js';
import { loadKubeConfig } from './kubeconfig.js';
import { NodeCluster, type NodeClusterInfo } from './node.js';

/** The repository root: src/dev/envtest and dist/dev/envtest both sit three levels below it. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const CHART = join(ROOT, 'charts', 'sidecar-operator');
export const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

export interface Images {
  operator: string;
  broken?: string;
  app: string;
  proxy: string;
  archives: string[];
}

/** Builds (or reuses) every image, the way `make images` does, and returns their references. */
export function buildImages(opts: { brokenPath?: boolean } = {}): Images {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'hack', 'image', 'build.ts'), '--json', ...(opts.brokenPath ? ['--broken-path'] : [])],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`image build failed: ${r.stderr}`);
  const map = JSON.parse(r.stdout) as Record<string, string>;
  const refs = Object.keys(map);
  const find = (re: RegExp): string => refs.find((x) => re.test(x))!;
  return {
    operator: find(/sidecar-operator:v[\d.]+$/),
    broken: refs.find((x) => x.endsWith('-broken-path')),
    app: find(/\/sidecar-test\/app:/),
    proxy: find(/\/sidecar-test\/proxy:/),
    archives: Object.values(map),
  };
}

export interface Cluster {
  node: NodeCluster;
  info: NodeClusterInfo;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  images: Images;
}

/** A one-node cluster with the images imported; stop it with `cluster.node.stop()`. */
export async function startCluster(
  opts: { brokenPath?: boolean; log?: (msg: string) => void } = {},
): Promise<Cluster> {
  const log = opts.log ?? ((m: string) => console.log(`node: ${m}`));
  const images = buildImages(opts);
  const node = new NodeCluster({ crds: [join(ROOT, 'crds')], images: images.archives, log });
  const info = await node.start();
  log(`Ready in ${info.startSeconds.toFixed(1)} s`);
  const kc = loadKubeConfig(info.adminKubeconfig);
  return {
    node,
    info,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    images,
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export async function must(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const helm = (c: Cluster, ...args: string[]): Promise<Run> =>
  run(c.info.binaries.helm, [...args, '--kubeconfig', c.info.adminKubeconfigPath]);

export const kubectl = (c: Cluster, ...args: string[]): Promise<Run> =>
  run(join(c.info.binaries.dir, 'kubectl'), ['--kubeconfig', c.info.adminKubeconfigPath, ...args]);

/** The CLI, run on this machine against the cluster. */
export const cli = (c: Cluster, ...args: string[]): Promise<Run> =>
  run(process.execPath, [MAIN, ...args], { env: { KUBECONFIG: c.info.adminKubeconfigPath } });

/** The Secret holding the CA of the API server's webhook client certificate, for the chart. */
export const WEBHOOK_CLIENT_CA_SECRET = 'webhook-client-ca';

/**
 * `helm install` of the chart as a platform team would on a cluster whose API server authenticates
 * itself to webhooks: the CA of that client certificate in a Secret, handed to the chart
 * (webhook.clientAuth), the image already on the node. `--wait` for the Deployment.
 */
export async function installChart(
  c: Cluster,
  release: string,
  namespace: string,
  ...extra: string[]
): Promise<Run> {
  await c.core.createNamespace({ body: { metadata: { name: namespace } } }).catch((err: unknown) => {
    if (!isAlreadyExists(err)) throw err;
  });
  await c.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: WEBHOOK_CLIENT_CA_SECRET }, stringData: { 'ca.crt': c.info.webhookClientCA! } },
  });
  return helm(
    c,
    'install',
    release,
    CHART,
    '-n',
    namespace,
    '--set',
    'image.pullPolicy=Never',
    '--set',
    `webhook.clientAuth.caSecret=${WEBHOOK_CLIENT_CA_SECRET}`,
    '--set',
    'webhook.clientAuth.commonNames={kube-apiserver-webhook-client}',
    '--wait',
    '--timeout',
    '4m',
    ...extra,
  );
}

/** Applies YAML with kubectl (server-side), as a user would. */
export async function apply(c: Cluster, yaml: string): Promise<void> {
  const res = await run(
    join(c.info.binaries.dir, 'kubectl'),
    ['--kubeconfig', c.info.adminKubeconfigPath, 'apply', '--server-side', '--force-conflicts', '-f', '-'],
    { input: yaml },
  );
  if (res.code !== 0) throw new Error(`kubectl apply: ${res.stderr}`);
}

/** A one-line account of a pod for failure messages: phase, conditions, container states, events. */
export async function describePod(c: Cluster, ns: string, name: string): Promise<string> {
  const r = await kubectl(c, 'describe', 'pod', '-n', ns, name);
  return r.stdout.split('\n').slice(-40).join('\n');
}

/** Container states that will not resolve by waiting: the image cannot run as it is. */
const HOPELESS = new Set([
  'CreateContainerError',
  'CreateContainerConfigError',
  'RunContainerError',
  'StartError',
  'ErrImageNeverPull',
  'InvalidImageName',
]);

/** Why a pod's containers cannot start, if one of them says so (undefined while there is hope). */
export function cannotStart(p: V1Pod): string | undefined {
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (waiting?.reason && HOPELESS.has(waiting.reason))
      return `${p.metadata?.name}/${s.name}: ${waiting.reason}: ${waiting.message ?? ''}`;
    const term = s.state?.terminated ?? s.lastState?.terminated;
    if (term?.reason === 'StartError')
      return `${p.metadata?.name}/${s.name}: StartError: ${term.message ?? ''}`;
  }
  return undefined;
}

/**
 * Waits until `want(pods)`; fails at once, naming the container and the runtime's message, when a
 * container cannot start (a broken image does not make the suite wait for a timeout).
 */
export async function waitForPods(
  c: Cluster,
  ns: string,
  selector: string,
  want: (pods: V1Pod[]) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<V1Pod[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = (await c.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
    if (want(pods)) return pods;
    const hopeless = pods.map(cannotStart).find(Boolean);
    if (hopeless) throw new Error(`${what}: a container cannot start: ${hopeless}`);
    if (Date.now() > deadline) {
      const details = await Promise.all(pods.map((p) => describePod(c, ns, p.metadata!.name!)));
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${details.join('\n---\n')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const isReady = (p: V1Pod): boolean =>
  p.status?.phase === 'Running' &&
  !!p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

/** PID of a running container of the pod (its network namespace is the pod's). */
export function containerPid(c: Cluster, pod: V1Pod, container: string): number {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const id = statuses.find((s) => s.name === container)?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`container ${container} of ${pod.metadata?.name} has no ID`);
  const r = spawnSync('ctr', ['--address', c.info.containerdSocket, '--namespace', 'k8s.io', 'tasks', 'ls'], {
    encoding: 'utf8',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith(id));
  const pid = Number(line?.split(/\s+/)[1]);
  if (!pid) throw new Error(`no running task for container ${container} (${id})`);
  return pid;
}

/** Runs a command in the pod's network namespace (the way an operator debugs with nsenter). */
export function inPodNetns(c: Cluster, pod: V1Pod, container: string, argv: string[]): string {
  const pid = containerPid(c, pod, container);
  const r = spawnSync('nsenter', ['-t', String(pid), '-n', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${pod.metadata?.name}: ${r.stderr}`);
  return r.stdout;
}

/** The proxy fixture's counters, scraped from its metrics port on the pod IP. */
export async function proxyCounters(pod: V1Pod): Promise<{ inbound: number; outbound: number }> {
  const text = await (await fetch(`http://${pod.status!.podIP}:15090/stats/prometheus`)).text();
  const get = (d: string): number =>
    Number(
      new RegExp(`sidecar_fixture_connections_total\\{direction="${d}"\\} (\\d+)`).exec(text)?.[1] ?? NaN,
    );
  return { inbound: get('inbound'), outbound: get('outbound') };
}
