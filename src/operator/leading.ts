import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { serviceHosts, type ServingHosts } from '../certs/authority.js';
import type { ServingMaterial } from '../certs/secret-format.js';
import { CertificateLoop } from '../controllers/certificates/loop.js';
import { Controller } from '../controllers/policy/controller.js';
import { registerPolicyMetrics } from '../controllers/policy/metrics.js';
import { createControllerMetrics, LeaderElector, type EventRecorder } from '../kube/index.js';
import { caBundlesOf, type WebhookTarget } from '../render/webhook-configuration.js';
import type { ResolvedConfig } from './config.js';
import type { ServerFeatures } from './features.js';

function target(c: ResolvedConfig): WebhookTarget {
  if (c.webhookUrl) return { url: c.webhookUrl };
  if (!c.serviceName) throw new Error('either a service name or a webhook URL is required');
  return { service: { namespace: c.namespace, name: c.serviceName } };
}

/** The names the serving certificate must carry: the Service's, plus the URL's host out of cluster. */
function servingHosts(c: ResolvedConfig): ServingHosts {
  const urlHost = c.webhookUrl ? new URL(c.webhookUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
  return serviceHosts({
    service: c.serviceName ?? 'sidecar-operator',
    namespace: c.namespace,
    extraHosts: urlHost ? [urlHost] : [],
  });
}

/** Under cert-manager: the Certificate (`ns/name`) cainjector reads the CA of. */
function certManagerSource(c: ResolvedConfig): { certificate: string } | undefined {
  if (c.certSource !== 'cert-manager') return undefined;
  return { certificate: `${c.namespace}/${c.certManagerCertificate ?? c.secretName}` };
}

export interface LeaderJobs {
  /** The running controller, while this replica leads. */
  controller(): Controller | undefined;
  /** Leads: the certificate loop (unless cert-manager issues) and the controller. */
  lead(): Promise<void>;
  /** Stops both. */
  follow(): Promise<void>;
}

/** What the elected leader runs, started and stopped as leadership comes and goes. */
export function leaderJobs(
  c: ResolvedConfig,
  kc: KubeConfig,
  o: {
    registry: Registry;
    features: ServerFeatures;
    events: EventRecorder;
    certLog: Logger;
    material: () => ServingMaterial | undefined;
    now: () => Date;
  },
): LeaderJobs {
  const webhookTarget = target(c);
  const certManager = certManagerSource(c);
  let controller: Controller | undefined;
  const certs = new CertificateLoop({
    kc,
    log: o.certLog,
    namespace: c.namespace,
    secretName: c.secretName,
    hosts: servingHosts(c),
    settings: { caLifetimeMs: c.caLifetimeMs, leafLifetimeMs: c.leafLifetimeMs, ...c.certificates },
    caBundles: () => controller?.ownedWebhookConfigurations()?.flatMap(caBundlesOf),
    events: o.events,
    now: o.now,
  });
  const leaderGauge = createControllerMetrics(o.registry).leader.labels(c.leaseName);
  leaderGauge.set(0);
  registerPolicyMetrics(o.registry, () => controller?.cachedPolicies());
  return {
    controller: () => controller,
    async lead() {
      leaderGauge.set(1);
      if (!certManager) certs.start();
      controller = new Controller({
        kc,
        log: c.log.child({ component: 'controller' }),
        registry: o.registry,
        operatorNamespace: c.namespace,
        target: webhookTarget,
        compile: { ...o.features, initImage: c.initImage },
        certificate: () => {
          const m = o.material();
          return m ? { bundlePem: m.bundlePem, notAfter: m.notAfter } : undefined;
        },
        events: o.events,
        ...(certManager ? { certManager } : { onWebhookChange: () => certs.poke(100) }),
        resyncPeriodMs: c.resyncPeriodMs,
        workers: c.workers,
        admissionCheck: c.admissionCheck,
        rolloutRestart: c.rolloutRestart,
        countPods: c.podCounts,
        ...(c.policySelector ? { policySelector: c.policySelector } : {}),
        ...(c.backoff ? { backoff: c.backoff } : {}),
        ...(c.cleanupTimeoutMs !== undefined ? { cleanupTimeoutMs: c.cleanupTimeoutMs } : {}),
        clock: o.now,
      });
      await controller.start();
    },
    async follow() {
      leaderGauge.set(0);
      const running = controller;
      controller = undefined;
      await Promise.all([certs.stop(), running?.stop()]);
    },
  };
}

/** Campaigns for the Lease; undefined when leader election is off (this replica then leads at once). */
export function elect(
  c: ResolvedConfig,
  kc: KubeConfig,
  identity: string,
  jobs: LeaderJobs,
  now: () => Date,
): LeaderElector | undefined {
  if (!c.leaderElect) {
    void jobs.lead().catch((err: unknown) => c.log.error({ err }, 'controller failed to start'));
    return undefined;
  }
  const elector = new LeaderElector({
    kc,
    namespace: c.namespace,
    name: c.leaseName,
    identity,
    log: c.log.child({ component: 'leader-election' }),
    leaseDurationMs: c.leaseDurationMs,
    renewDeadlineMs: c.renewDeadlineMs,
    retryPeriodMs: c.retryPeriodMs,
    onStartedLeading: () => jobs.lead(),
    onStoppedLeading: () => jobs.follow(),
    onLeaderChanged: (id) => c.log.info({ leader: id }, 'leader observed'),
    now: () => now().getTime(),
  });
  elector.start();
  return elector;
}
