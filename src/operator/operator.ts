import type { CompileOptions } from '../inject/index.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  DEFAULT_SECRET_NAME,
  registerCertificateExpiry,
  serviceHosts,
  type CertificateSettings,
  type ServingHosts,
  type ServingMaterial,
} from '../certs/index.js';
import { CertificateLoop } from '../controllers/certificates/loop.js';
import { Controller } from '../controllers/policy/controller.js';
import {
  createControllerMetrics,
  createEventRecorder,
  LeaderElector,
  loadKubeConfig,
  requestJson,
  type KubeConfigSource,
} from '../kube/index.js';
import { caBundlesOf, type WebhookTarget } from '../render/webhook-configuration.js';
import {
  createAdmissionEventRecorder,
  WebhookServer,
  type WebhookServerOptions,
  watchInjectorTemplates,
  watchServingSecret,
} from '../webhook/index.js';

export const DEFAULT_LEASE_NAME = 'sidecar-operator-leader';
export const DEFAULT_SECRET = DEFAULT_SECRET_NAME;

export type CertSource = 'self' | 'operator' | 'cert-manager';

export interface OperatorConfig {
  log: Logger;
  /** A ready client, or where to load one from. */
  kc?: KubeConfig;
  kubeconfig?: KubeConfigSource;
  /** The operator's namespace: Lease, ConfigMap, Secret live there; its pods are never injected. */
  namespace: string;
  /** How the API server reaches the webhook: the Service name (in cluster) or a base URL. */
  serviceName?: string;
  webhookUrl?: string;
  webhookHost?: string;
  /** HTTPS port of the webhook (default 9443; 0 = any free port). */
  webhookPort?: number;
  /** Plain-HTTP port for /metrics, /healthz, /readyz; undefined = served on the webhook port only. */
  metricsPort?: number;
  leaderElect?: boolean;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  resyncPeriodMs?: number;
  /** Reconcile only policies with these labels (see ControllerOptions.policySelector). */
  policySelector?: string;
  workers?: number;
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  secretName?: string;
  /**
   * `self` (default; `operator` is the same): the leader issues and rotates. `cert-manager`: the
   * operator issues nothing, reads the Secret cert-manager writes and annotates its webhook
   * configurations so that cert-manager's cainjector fills their caBundle.
   */
  certSource?: CertSource;
  /** Under cert-manager: the Certificate in `namespace` whose CA cainjector injects (default: secretName). */
  certManagerCertificate?: string;
  certificates?: Partial<CertificateSettings>;
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop) in the registry; default true. */
  processMetrics?: boolean;
  /**
   * Events on pods' owners for each injection decision (Injected, InjectionSkipped…), for reviews
   * from an authenticated caller (see `webhookClientCAFile`); default true.
   */
  admissionEvents?: boolean;
  /** Events for reviews from unauthenticated callers too (any caller, without a client CA); default false. */
  admissionEventsUnauthenticated?: boolean;
  /**
   * PEM file of the CA that signs the API server's client certificate for this webhook. Set: the
   * webhook answers 401 to callers without a certificate it verifies. Read once at start.
   */
  webhookClientCAFile?: string;
  /** With `webhookClientCAFile`: the common names a client certificate may carry. */
  webhookClientNames?: string[];
  /**
   * The image of the injected `sidecar-init` when a policy names none: the operator's own, so the
   * iptables program always understands the flags this operator renders.
   */
  initImage: string;
}

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

/** What the API server supports, as the compiler needs it. */
export type ServerFeatures = Pick<CompileOptions, 'nativeSidecars' | 'sleepAction'>;

/** Native sidecars (init containers with restartPolicy Always) are on by default from 1.29, the sleep lifecycle action from 1.30. */
export async function detectServerFeatures(kc: KubeConfig): Promise<ServerFeatures> {
  const v = await requestJson<{ major: string; minor: string }>(kc, { path: '/version' });
  const major = parseInt(v.major, 10);
  // Managed offerings report minors such as "30+".
  const minor = parseInt(v.minor, 10);
  const atLeast = (m: number): boolean => major > 1 || (major === 1 && minor >= m);
  return { nativeSidecars: atLeast(29), sleepAction: atLeast(30) };
}

function target(c: OperatorConfig): WebhookTarget {
  if (c.webhookUrl) return { url: c.webhookUrl };
  if (!c.serviceName) throw new Error('either a service name or a webhook URL is required');
  return { service: { namespace: c.namespace, name: c.serviceName } };
}

/** The names the serving certificate must carry: the Service's, plus the URL's host out of cluster. */
function servingHosts(c: OperatorConfig): ServingHosts {
  const urlHost = c.webhookUrl ? new URL(c.webhookUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
  return serviceHosts({
    service: c.serviceName ?? 'sidecar-operator',
    namespace: c.namespace,
    extraHosts: urlHost ? [urlHost] : [],
  });
}

/** Under cert-manager: the Certificate (`ns/name`) cainjector reads the CA of. */
function certManagerSource(c: OperatorConfig, secretName: string): { certificate: string } | undefined {
  if (c.certSource !== 'cert-manager') return undefined;
  return { certificate: `${c.namespace}/${c.certManagerCertificate ?? secretName}` };
}

/** Who may call the webhook, and whose reviews become Events. */
async function callerOptions(c: OperatorConfig): Promise<Partial<WebhookServerOptions>> {
  return {
    ...(c.admissionEventsUnauthenticated ? { unauthenticatedEvents: true } : {}),
    ...(c.webhookClientCAFile ? { clientCAPem: await readFile(c.webhookClientCAFile, 'utf8') } : {}),
    ...(c.webhookClientNames?.length ? { clientCommonNames: c.webhookClientNames } : {}),
  };
}

/**
 * Starts the webhook server; when it cannot listen (a port in use), releases what was started
 * before it, so that nothing keeps the process alive behind the error, and rethrows.
 */
async function startOrRelease(
  server: WebhookServer,
  release: () => Promise<void>,
): Promise<{ port: number; probePort?: number }> {
  try {
    return await server.start();
  } catch (err) {
    // The webhook port may be bound when the probe port is the one taken.
    await Promise.all([server.stop(), release()]);
    throw err;
  }
}

/**
 * One process, both jobs: every replica serves the webhook from the watched ConfigMap and Secret;
 * the elected leader also runs the controller and the certificate loop.
 */
export async function startOperator(c: OperatorConfig): Promise<OperatorHandle> {
  const log = c.log;
  const kc = c.kc ?? loadKubeConfig(c.kubeconfig);
  const registry = c.registry ?? new Registry();
  if (c.processMetrics !== false && !c.registry) collectDefaultMetrics({ register: registry });
  const metrics = createControllerMetrics(registry);
  const identity = c.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const secretName = c.secretName ?? DEFAULT_SECRET;
  const webhookTarget = target(c);
  const features = await detectServerFeatures(kc);

  const admissionEvents =
    c.admissionEvents === false
      ? undefined
      : createAdmissionEventRecorder(kc, {
          instance: identity,
          registry,
          log: log.child({ component: 'webhook' }),
        });
  const server = new WebhookServer({
    log: log.child({ component: 'webhook' }),
    registry,
    operatorNamespace: c.namespace,
    port: c.webhookPort ?? 9443,
    ...(c.webhookHost ? { host: c.webhookHost } : {}),
    ...(c.metricsPort !== undefined ? { probePort: c.metricsPort } : {}),
    ...(admissionEvents ? { events: admissionEvents } : {}),
    ...(await callerOptions(c)),
  });
  let material: ServingMaterial | undefined;
  let controller: Controller | undefined;
  const certLog = log.child({ component: 'certs' });
  const secretWatch = watchServingSecret(kc, c.namespace, secretName, certLog, (m) => {
    server.setCertificate(m);
    material = m;
    controller?.enqueueAll();
  });
  const templateWatch = watchInjectorTemplates(kc, c.namespace, log.child({ component: 'webhook' }), (t) =>
    server.setTemplates(t),
  );
  const closeClient = async (): Promise<void> => {
    if ('closeConnections' in kc && typeof kc.closeConnections === 'function') {
      await (kc as { closeConnections(): Promise<void> }).closeConnections();
    }
  };
  const ports = await startOrRelease(server, async () => {
    await Promise.all([secretWatch.stop(), templateWatch.stop(), admissionEvents?.stop(0)]);
    await closeClient();
  });

  const hosts = servingHosts(c);
  const events = createEventRecorder(kc, log, {
    component: 'sidecar-operator',
    instance: identity,
    clock: () => new Date(),
  });
  const certManager = certManagerSource(c, secretName);
  const certs = new CertificateLoop({
    kc,
    log: certLog,
    namespace: c.namespace,
    secretName,
    hosts,
    ...(c.certificates ? { settings: c.certificates } : {}),
    caBundles: () => controller?.ownedWebhookConfigurations()?.flatMap(caBundlesOf),
    events,
  });
  registerCertificateExpiry(
    registry,
    () => (material ? { leafNotAfter: material.notAfter, caNotAfter: material.caNotAfter } : undefined),
    () => new Date(),
  );
  const leaderGauge = metrics.leader.labels(c.leaseName ?? DEFAULT_LEASE_NAME);
  leaderGauge.set(0);

  const lead = async (): Promise<void> => {
    leaderGauge.set(1);
    if (!certManager) certs.start();
    controller = new Controller({
      kc,
      log: log.child({ component: 'controller' }),
      registry,
      operatorNamespace: c.namespace,
      target: webhookTarget,
      compile: { ...features, initImage: c.initImage },
      certificate: () =>
        material ? { bundlePem: material.bundlePem, notAfter: material.notAfter } : undefined,
      events,
      ...(certManager ? { certManager } : { onWebhookChange: () => certs.poke(100) }),
      ...(c.resyncPeriodMs !== undefined ? { resyncPeriodMs: c.resyncPeriodMs } : {}),
      ...(c.workers !== undefined ? { workers: c.workers } : {}),
      ...(c.policySelector ? { policySelector: c.policySelector } : {}),
      ...(c.backoff ? { backoff: c.backoff } : {}),
    });
    await controller.start();
  };
  const follow = async (): Promise<void> => {
    leaderGauge.set(0);
    const running = controller;
    controller = undefined;
    await Promise.all([certs.stop(), running?.stop()]);
  };

  let elector: LeaderElector | undefined;
  if (c.leaderElect === false) {
    void lead().catch((err: unknown) => log.error({ err }, 'controller failed to start'));
  } else {
    elector = new LeaderElector({
      kc,
      namespace: c.namespace,
      name: c.leaseName ?? DEFAULT_LEASE_NAME,
      identity,
      log: log.child({ component: 'leader-election' }),
      ...(c.leaseDurationMs !== undefined ? { leaseDurationMs: c.leaseDurationMs } : {}),
      ...(c.renewDeadlineMs !== undefined ? { renewDeadlineMs: c.renewDeadlineMs } : {}),
      ...(c.retryPeriodMs !== undefined ? { retryPeriodMs: c.retryPeriodMs } : {}),
      onStartedLeading: lead,
      onStoppedLeading: follow,
      onLeaderChanged: (id) => log.info({ leader: id }, 'leader observed'),
    });
    elector.start();
  }
  log.info({ identity, namespace: c.namespace, ...features, webhookPort: ports.port }, 'operator started');

  return {
    webhookPort: ports.port,
    ...(ports.probePort !== undefined ? { metricsPort: ports.probePort } : {}),
    identity,
    registry,
    isLeader: () => controller !== undefined,
    async resync() {
      const running = controller;
      if (!running) throw new Error('not the leader');
      running.enqueueAll();
      await running.idle();
    },
    async stop() {
      if (elector) await elector.stop();
      else await follow();
      await server.stop();
      await Promise.all([secretWatch.stop(), templateWatch.stop(), admissionEvents?.stop(2000)]);
      await closeClient();
      log.info('operator stopped');
    },
  };
}
