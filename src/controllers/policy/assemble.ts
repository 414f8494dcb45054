import type {
  KubeConfig,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { SidecarPolicy } from '../../api/index.js';
import type { CompileOptions } from '../../inject/index.js';
import type { Cache, EventRecorder } from '../../kube/index.js';
import type { WebhookTarget } from '../../render/webhook-configuration.js';
import type { AdmissionChecker } from '../admission-check/checker.js';
import { InjectorTemplates } from '../injector-configmap/injector-configmap.js';
import type { PodIndex } from '../pod-index.js';
import { Rollout } from '../rollout/rollout.js';
import { TemplateCache } from '../template-cache.js';
import { WebhookConfigurations, type CertificateView } from '../webhooks/webhooks.js';
import { NamespaceMarks } from './marks.js';
import { PolicyReconciler } from './reconciler.js';

/** The caches a policy reconcile reads: informers in the controller, fixed lists in tests. */
export interface PolicyCaches {
  policies: Cache<SidecarPolicy>;
  namespaces: Cache<V1Namespace>;
  /** The policies' injector template ConfigMaps (label sidecar.dev/injector-template=true). */
  configMap: Cache<V1ConfigMap>;
  /** The shared injector ConfigMap of an older release, by name (carried over, then removed). */
  legacyConfigMap: Cache<V1ConfigMap>;
  webhooks: Cache<V1MutatingWebhookConfiguration>;
}

export interface PolicyReconcilerSetup {
  kc: KubeConfig;
  log: Logger;
  caches: PolicyCaches;
  /** Every pod's metadata (counts, rollout). */
  pods: PodIndex;
  /** False: pods are not counted (no `list pods`); counts unknown, no rollout. Default true. */
  countPods?: boolean;
  operatorNamespace: string;
  target: WebhookTarget;
  /** What the API server supports, and the init image for policies that name none. */
  compile: CompileOptions;
  certificate: () => CertificateView | undefined;
  /** Set when cert-manager issues: its cainjector writes the caBundles, Certificate `ns/name`. */
  certManager?: { certificate: string };
  events: EventRecorder;
  /** Only some policies are ours (a label selector): leave what others' policies left alone. */
  sharded?: boolean;
  /** How long a deleting policy's failing cleanup is retried before its finalizer goes anyway. */
  cleanupTimeoutMs?: number;
  clock: () => Date;
  /** How often a rollout in progress looks at its workloads again (default 2 s). */
  rolloutPollMs?: number;
  /** The admission check (dry runs per governed namespace); undefined: turned off. */
  admission?: AdmissionChecker;
  /** The operator may restart workloads (rollout strategy Restart); default true. */
  rolloutRestart?: boolean;
}

/** The policy reconciler with a writer for each concern, all reading the same caches. */
export function createPolicyReconciler(o: PolicyReconcilerSetup): PolicyReconciler {
  const templates = new TemplateCache(o.compile);
  const configMap = new InjectorTemplates({
    kc: o.kc,
    namespace: o.operatorNamespace,
    cache: o.caches.configMap,
    legacy: o.caches.legacyConfigMap,
    templates,
  });
  return new PolicyReconciler({
    kc: o.kc,
    log: o.log,
    policies: o.caches.policies,
    namespaces: o.caches.namespaces,
    pods: o.pods,
    ...(o.countPods !== undefined ? { countPods: o.countPods } : {}),
    operatorNamespace: o.operatorNamespace,
    templates,
    configMap,
    webhooks: new WebhookConfigurations({
      kc: o.kc,
      operatorNamespace: o.operatorNamespace,
      target: o.target,
      cache: o.caches.webhooks,
      ...(o.certManager ? { certManager: o.certManager } : {}),
    }),
    marks: new NamespaceMarks(o.kc),
    rollout: new Rollout({
      kc: o.kc,
      pods: o.pods,
      events: o.events,
      log: o.log,
      clock: o.clock,
      servedRevision: (name) => configMap.servedRevision(name),
      ...(o.rolloutPollMs !== undefined ? { pollMs: o.rolloutPollMs } : {}),
      ...(o.rolloutRestart !== undefined ? { restartAllowed: o.rolloutRestart } : {}),
    }),
    ...(o.admission ? { admission: o.admission } : {}),
    certificate: o.certificate,
    events: o.events,
    ...(o.sharded !== undefined ? { sharded: o.sharded } : {}),
    ...(o.cleanupTimeoutMs !== undefined ? { cleanupTimeoutMs: o.cleanupTimeoutMs } : {}),
    clock: o.clock,
  });
}
