import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { isNotFound, loadKubeConfig, requestJson } from '../src/kube/index.js';
import { startOperator, type OperatorConfig, type OperatorHandle } from '../src/operator/index.js';
import { eventually, envtest } from './support.js';

/** Label that ties a file's policies to the operator instances of that file only. */
export const SHARD_LABEL = 'test.sidecar.dev/shard';

export function admin(): KubeConfig {
  return loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig });
}

export const shortId = (): string => randomBytes(3).toString('hex');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The `--init-image` of every test operator: the injected sidecar-init runs it unless a policy names one. */
export const TEST_INIT_IMAGE = 'registry.test/sidecar-operator:init-under-test';

/** An operator in this process, reached by the API server at https://127.0.0.1:<port>. */
export async function startTestOperator(
  namespace: string,
  shard: string,
  extra: Partial<OperatorConfig> = {},
): Promise<OperatorHandle> {
  const port = await freePort();
  const handle = await startOperator({
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    kc: admin(),
    namespace,
    webhookUrl: `https://127.0.0.1:${port}`,
    webhookHost: '127.0.0.1',
    webhookPort: port,
    policySelector: `${SHARD_LABEL}=${shard}`,
    resyncPeriodMs: 2000,
    backoff: { baseDelayMs: 50, maxDelayMs: 2000 },
    processMetrics: false,
    initImage: TEST_INIT_IMAGE,
    ...extra,
  });
  return handle;
}

export async function createPolicy(
  kc: KubeConfig,
  name: string,
  shard: string,
  spec: SidecarPolicy['spec'],
): Promise<SidecarPolicy> {
  return requestJson<SidecarPolicy>(kc, {
    method: 'POST',
    path: policyPath(),
    body: {
      apiVersion: 'sidecar.dev/v1alpha1',
      kind: 'SidecarPolicy',
      metadata: { name, labels: { [SHARD_LABEL]: shard } },
      spec,
    },
  });
}

export async function getPolicy(kc: KubeConfig, name: string): Promise<SidecarPolicy | undefined> {
  return requestJson<SidecarPolicy>(kc, { path: policyPath(name) }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

export function condition(p: SidecarPolicy | undefined, type: string) {
  return p?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the policy's Ready condition for its current generation has `status`. */
export async function waitReady(
  kc: KubeConfig,
  name: string,
  status: 'True' | 'False' = 'True',
  timeoutMs = 30_000,
): Promise<SidecarPolicy> {
  return eventually(
    async () => {
      const p = await getPolicy(kc, name);
      const ready = condition(p, 'Ready');
      if (ready?.status === status && p?.status?.observedGeneration === p?.metadata?.generation) return p;
      // Said when it times out: where the policy stands.
      throw new Error(`Ready=${ready?.status ?? '?'} ${ready?.reason ?? ''}: ${ready?.message ?? ''}`);
    },
    { what: `policy ${name} Ready=${status}`, timeoutMs },
  );
}

export async function deletePolicy(kc: KubeConfig, name: string): Promise<void> {
  await requestJson(kc, { method: 'DELETE', path: policyPath(name) }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** Deletes the policies and waits until they are gone (their finalizer needs the operator running). */
export async function deletePolicies(kc: KubeConfig, names: string[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(names.map((n) => deletePolicy(kc, n)));
  await eventually(
    async () => ((await Promise.all(names.map((n) => getPolicy(kc, n)))).every((p) => !p) ? true : undefined),
    {
      what: 'policies deleted',
      timeoutMs,
    },
  ).catch(async (err: unknown) => {
    // Never leave a policy (and its webhook) behind: drop the finalizer by hand.
    for (const n of names) {
      await requestJson(kc, {
        method: 'PATCH',
        path: policyPath(n),
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      }).catch(() => undefined);
    }
    throw err;
  });
}

/** Removes these policies without waiting for an operator (finalizers dropped), whatever happened in the tests. */
export function dropPoliciesAfterAll(kc: KubeConfig, names: () => string[]): void {
  afterAll(async () => {
    for (const n of names()) {
      await requestJson(kc, {
        method: 'PATCH',
        path: policyPath(n),
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      }).catch(() => undefined);
      await deletePolicy(kc, n).catch(() => undefined);
    }
  });
}

/** A reader of the sum of a metric's values in the operator's registry, over the series with `labels`. */
export function metric(handle: OperatorHandle, name: string, labels: Record<string, string> = {}) {
  return async (): Promise<number> => {
    const m = await handle.registry.getSingleMetric(name)?.get();
    return (m?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((s, v) => s + v.value, 0);
  };
}

/** Removes any webhook configuration named after these policies, whatever happened in the tests. */
export function cleanupWebhooksAfterAll(kc: KubeConfig, names: () => string[]): void {
  afterAll(async () => {
    for (const n of names()) {
      await requestJson(kc, {
        method: 'DELETE',
        path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${n}`,
      }).catch(() => undefined);
    }
  });
}

export function podSpec(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }],
    },
  };
}

export function injected(pod: V1Pod): boolean {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  return names.includes('sidecar-proxy');
}

/** Creates a pod once a dry-run create comes back injected (the webhook has loaded the template). */
export async function createInjectedPod(kc: KubeConfig, namespace: string, pod: V1Pod): Promise<V1Pod> {
  const path = `/api/v1/namespaces/${namespace}/pods`;
  await eventually(
    async () => {
      const dry = await requestJson<V1Pod>(kc, { method: 'POST', path, query: { dryRun: 'All' }, body: pod });
      return injected(dry) ? true : undefined;
    },
    { what: `a dry-run pod in ${namespace} injected` },
  );
  return requestJson<V1Pod>(kc, { method: 'POST', path, body: pod });
}
