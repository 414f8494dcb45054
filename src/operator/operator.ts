import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerCertificateExpiry } from '../certs/metrics.js';
import { createEventRecorder, loadKubeConfig } from '../kube/index.js';
import { resolveConfig, type OperatorConfig } from './config.js';
import { detectServerFeatures } from './features.js';
import { elect, leaderJobs, type LeaderJobs } from './leading.js';
import { startServing } from './serving.js';

export interface OperatorHandle {
  webhookPort: number;
  metricsPort?: number;
  identity: string;
  registry: Registry;
  isLeader(): boolean;
  /** Leader only: queues every policy and resolves when all were reconciled (benchmarks, tests). */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

async function closeClient(kc: KubeConfig): Promise<void> {
  if ('closeConnections' in kc && typeof kc.closeConnections === 'function') {
    await (kc as { closeConnections(): Promise<void> }).closeConnections();
  }
}

/**
 * One process, both jobs: every replica serves the webhook from the watched ConfigMaps and Secret;
 * the elected leader also runs the controller and the certificate loop.
 */
export async function startOperator(config: OperatorConfig): Promise<OperatorHandle> {
  const c = resolveConfig(config);
  const log = c.log;
  const now = (): Date => new Date();
  const kc = c.kc ?? loadKubeConfig(c.kubeconfig);
  const registry = c.registry ?? new Registry();
  if (c.processMetrics !== false && !c.registry) collectDefaultMetrics({ register: registry });
  const identity = c.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const features = await detectServerFeatures(kc);
  const certLog = log.child({ component: 'certs' });

  // The leader's jobs need the serving material; a new certificate queues every policy.
  const started: { jobs?: LeaderJobs } = {};
  const serving = await startServing(c, kc, {
    identity,
    registry,
    certLog,
    onMaterial: () => started.jobs?.controller()?.enqueueAll(),
    closeClient: () => closeClient(kc),
  });
  const events = createEventRecorder(kc, log, {
    component: 'sidecar-operator',
    instance: identity,
    clock: now,
  });
  const leader = (started.jobs = leaderJobs(c, kc, {
    registry,
    features,
    events,
    certLog,
    material: () => serving.material(),
    now,
  }));
  registerCertificateExpiry(
    registry,
    () => {
      const m = serving.material();
      return m ? { leafNotAfter: m.notAfter, caNotAfter: m.caNotAfter } : undefined;
    },
    now,
  );
  const elector = elect(c, kc, identity, leader, now);
  log.info(
    { identity, namespace: c.namespace, ...features, webhookPort: serving.ports.port },
    'operator started',
  );

  return {
    webhookPort: serving.ports.port,
    ...(serving.ports.probePort !== undefined ? { metricsPort: serving.ports.probePort } : {}),
    identity,
    registry,
    isLeader: () => leader.controller() !== undefined,
    async resync() {
      const running = leader.controller();
      if (!running) throw new Error('not the leader');
      running.enqueueAll();
      await running.idle();
    },
    async stop() {
      // Leadership first (another replica may lead at once), then the webhook keeps answering while
      // this pod's endpoint goes away everywhere, then it drains and stops.
      serving.drain();
      if (elector) await elector.stop();
      else await leader.follow();
      if (c.shutdownDelayMs > 0) await new Promise((r) => setTimeout(r, c.shutdownDelayMs));
      await serving.stop();
      await closeClient(kc);
      log.info('operator stopped');
    },
  };
}
