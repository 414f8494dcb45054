import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  ConditionType,
  INIT_CONTAINER,
  POLICY_LABEL,
  policyPath,
  STATUS_ANNOTATION,
  type SidecarPolicy,
} from '../../api/index.js';
import { ControlPlane, eventually } from '../envtest/index.js';
import { freePort } from '../envtest/process.js';
import type { Pod } from '../../inject/index.js';
import { loadKubeConfig, requestJson, type PooledKubeConfig } from '../../kube/index.js';
import { DEFAULT_INIT_IMAGE } from '../../operator/config.js';
import { startOperator, type OperatorHandle } from '../../operator/index.js';
import { showInterception, showNamespace, showPod, showPolicy } from './show.js';
import { formatMs, type Style } from './style.js';

/** The repository root: both src/dev/demo and dist/dev/demo sit three levels below it. */
const ROOT = join(import.meta.dirname, '..', '..', '..');
export const OPERATOR_NAMESPACE = 'sidecar-system';
const NAMESPACE = 'bookinfo';

export interface DemoOptions {
  style: Style;
  write: (text: string) => void;
  /** How long to wait for each thing that the controllers do, default 60 s. */
  timeoutMs?: number;
}

/** What is running after `runDemo`, for the caller to keep or stop. */
export interface DemoSession {
  kubeconfigPath: string;
  server: string;
  logPath: string;
  stop(): Promise<void>;
}

function readDocs(file: string): KubernetesObject[] {
  return (loadAllYaml(readFileSync(join(ROOT, file), 'utf8')) as (KubernetesObject | null)[]).filter(
    (d): d is KubernetesObject => d !== null,
  );
}

/**
 * Starts a control plane and the operator, applies the bookinfo policy and workload, waits for the
 * injected pod, and prints what happened. Leaves everything running; the caller stops the session.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoSession> {
  const { style: s, write } = opts;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    write(`${s.cyan('▸')} ${label} …\n`);
    const v = await fn();
    write(`  ${s.green('✓')} ${label} ${s.dim(`(${formatMs(Date.now() - t0)})`)}\n`);
    return v;
  };
  const cp = new ControlPlane({ controllerManager: true, crds: [join(ROOT, 'crds')] });
  // Whatever ends the process, the control plane must not outlive it.
  const onExit = (): void => {
    for (const pid of cp.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);
  let operator: OperatorHandle | undefined;
  let kc: PooledKubeConfig | undefined;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    await operator?.stop();
    operator = undefined;
    await kc?.closeConnections();
    await cp.stop();
  };
  try {
    const info = await step('start etcd, kube-apiserver and kube-controller-manager, install the CRD', () =>
      cp.start(),
    );
    write(`    kube-apiserver ${info.serverVersion} at ${info.server}\n`);
    kc = loadKubeConfig({ kubeconfigYaml: info.adminKubeconfig });
    const client = kc;
    const core = client.makeApiClient(CoreV1Api);
    const logPath = join(info.dir, 'operator.log');
    operator = await step(
      `start the operator (namespace ${OPERATOR_NAMESPACE}, webhook on 127.0.0.1)`,
      async () => {
        await core.createNamespace({ body: { metadata: { name: OPERATOR_NAMESPACE } } });
        const port = await freePort();
        const log = pino({ level: 'info' }, createWriteStream(logPath));
        return startOperator({
          log,
          kubeconfig: { kubeconfigYaml: info.adminKubeconfig },
          namespace: OPERATOR_NAMESPACE,
          webhookUrl: `https://127.0.0.1:${port}`,
          webhookHost: '127.0.0.1',
          webhookPort: port,
          leaderElect: false,
          processMetrics: false,
          initImage: DEFAULT_INIT_IMAGE,
        });
      },
    );
    write(`    operator log: ${logPath}\n`);
    const policy = await step(
      'apply examples/bookinfo.yaml (namespace bookinfo, SidecarPolicy bookinfo)',
      async () => {
        await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
        const [body] = readDocs('examples/bookinfo.yaml');
        await requestJson(client, { method: 'POST', path: policyPath(), body });
        return eventually(
          async () => {
            const p = await requestJson<SidecarPolicy>(client, { path: policyPath('bookinfo') });
            const ready =
              p.status?.conditions?.find((c) => c.type === ConditionType.Ready)?.status === 'True';
            const ns = await core.readNamespace({ name: NAMESPACE });
            return ready && ns.metadata?.labels?.[POLICY_LABEL] === 'bookinfo' ? p : undefined;
          },
          { what: 'the policy to be Ready and the namespace marked', timeoutMs, intervalMs: 200 },
        );
      },
    );
    const pod = await step('apply examples/bookinfo-productpage.yaml and wait for its pod', async () => {
      const objects = client.makeApiClient(KubernetesObjectApi);
      for (const doc of readDocs('examples/bookinfo-productpage.yaml')) await objects.create(doc);
      return eventually(
        async () => {
          const pods = await core.listNamespacedPod({
            namespace: NAMESPACE,
            labelSelector: 'app=productpage',
          });
          return pods.items[0] as Pod | undefined;
        },
        { what: 'the Deployment’s pod', timeoutMs, intervalMs: 200 },
      );
    });
    const current = await step('wait for the policy status to count the injected pod', () =>
      eventually(
        async () => {
          const p = await requestJson<SidecarPolicy>(client, { path: policyPath('bookinfo') });
          return (p.status?.injectedPods ?? 0) >= 1 ? p : undefined;
        },
        { what: 'status.injectedPods ≥ 1', timeoutMs: 10_000, intervalMs: 200 },
      ).catch(() => policy),
    );
    const ns: V1Namespace = await core.readNamespace({ name: NAMESPACE });
    const deployment = await client
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'productpage-v1', namespace: NAMESPACE });
    if ((current.status?.injectedPods ?? 0) === 0)
      write(
        `    ${s.yellow('!')} the status does not count the pod yet (pod counts follow the controller's resync)\n`,
      );
    write('\n' + showPolicy(current, s) + '\n\n' + showNamespace(ns, s) + '\n\n');
    write(
      `${s.bold(`Deployment ${NAMESPACE}/productpage-v1`)} (kube-controller-manager made ReplicaSet and Pod; no kubelet runs them)\n`,
    );
    write(
      `  replicas ${deployment.spec?.replicas ?? 1}, pod template containers: ${(deployment.spec?.template.spec?.containers ?? []).map((c) => c.name).join(', ')}\n\n`,
    );
    write(showPod(pod, s) + '\n\n');
    const init = pod.spec?.initContainers?.find((c) => c.name === INIT_CONTAINER);
    if (init) write(showInterception(init, s) + '\n');
    const injected = pod.metadata?.annotations?.[STATUS_ANNOTATION] !== undefined;
    write(
      `\n${injected ? s.green('sidecar injected') : s.red('pod NOT injected')} into ${NAMESPACE}/${pod.metadata?.name} — total ${formatMs(Date.now() - started)}\n`,
    );
    if (!injected)
      throw new Error(`the pod ${pod.metadata?.name} was created without the sidecar; see ${logPath}`);
    return { kubeconfigPath: info.adminKubeconfigPath, server: info.server, logPath, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
