import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_CERTIFICATE_SETTINGS, type CertificateSettings } from '../certs/schedule.js';
import { DEFAULT_SECRET_NAME } from '../certs/secret-format.js';
import type { KubeConfigSource } from '../kube/index.js';
import { DEFAULT_INIT_IMAGE } from './version.js';

export { DEFAULT_INIT_IMAGE };

export type CertSource = 'self' | 'operator' | 'cert-manager';
export type LogFormat = 'json' | 'text';
/** Who may read /metrics: `kubernetes` (a bearer token allowed `get` on /metrics) or anyone (`none`). */
export type MetricsAuth = 'kubernetes' | 'none';

/**
 * Every setting of a running operator, one typed object. The `run` flags, their environment
 * variables and the chart's values all map onto it (see RUN_FLAGS and CHART_VALUES).
 */
export interface OperatorSettings {
  /** kubeconfig file and context; neither: in-cluster, then $KUBECONFIG, ~/.kube/config. */
  kubeconfig?: string;
  context?: string;
  /** The operator's namespace: Lease, ConfigMap, Secret live there; its pods are never injected. */
  namespace: string;
  /** How the API server reaches the webhook: the Service name (in cluster) or a base URL. */
  serviceName?: string;
  webhookUrl?: string;
  /** Address the webhook listens on (default all). */
  webhookHost?: string;
  /** HTTPS port of the webhook, /metrics and probes (0 = any free port). */
  webhookPort: number;
  /** Plain-HTTP port for /metrics, /healthz, /readyz; undefined = served on the webhook port only. */
  metricsPort?: number;
  /**
   * `kubernetes`: /metrics answers only a bearer token the API server authenticates (TokenReview)
   * and allows `get` on the non-resource URL /metrics (SubjectAccessReview), as kube-rbac-proxy
   * does. `none`: anyone who reaches a port reads it.
   */
  metricsAuth: MetricsAuth;
  /**
   * Restart workloads for policies with rollout strategy Restart (the operator may patch
   * Deployments, StatefulSets and DaemonSets). Off: such policies say why they cannot roll out.
   */
  rolloutRestart: boolean;
  /**
   * Count injected, outdated and uninjected pods from a metadata-only watch of every pod (the
   * operator needs `list` and `watch` on pods). Off: counts unknown, no rollout.
   */
  podCounts: boolean;
  leaderElect: boolean;
  leaseName: string;
  /** Leader election identity (default: host name + random suffix). */
  identity?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Every policy is reconciled at this interval whatever happened. */
  resyncPeriodMs: number;
  /**
   * On SIGTERM, how long the webhook goes on answering (not ready, closing each connection after its
   * answer) once leadership is given up, before it stops listening: the API server and kube-proxy
   * stop sending a deleted pod admissions only after its endpoint is removed everywhere.
   */
  shutdownDelayMs: number;
  /** Concurrent reconciles. */
  workers: number;
  /** Reconcile only the policies matching this label selector. */
  policySelector?: string;
  /**
   * `self` (`operator` is the same): the leader issues and rotates. `cert-manager`: the operator
   * issues nothing, reads the Secret cert-manager writes and annotates its webhook configurations
   * so that cert-manager's cainjector fills their caBundle.
   */
  certSource: CertSource;
  secretName: string;
  /** Under cert-manager: the Certificate in `namespace` whose CA cainjector injects (default: secretName). */
  certManagerCertificate?: string;
  caLifetimeMs: number;
  leafLifetimeMs: number;
  /**
   * Events on pods' owners for each injection decision (Injected, InjectionSkipped…), for reviews
   * from an authenticated caller (see `webhookClientCAFile`).
   */
  admissionEvents: boolean;
  /** Events for reviews from unauthenticated callers too (any caller, without a client CA). */
  admissionEventsUnauthenticated: boolean;
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
  /**
   * Dry-run a representative injected pod in every governed namespace and report whether the API
   * server admits it (condition PodsAdmissible). Needs create on pods; a dry run persists nothing.
   */
  admissionCheck: boolean;
  logLevel: string;
  logFormat: LogFormat;
}

type Optional = {
  [K in keyof OperatorSettings]-?: undefined extends OperatorSettings[K] ? K : never;
}[keyof OperatorSettings];

/** The defaults, in one place: flags show them, `startOperator` falls back on them. */
export const DEFAULTS: Readonly<Omit<OperatorSettings, Optional>> = {
  namespace: 'sidecar-system',
  webhookPort: 9443,
  metricsAuth: 'kubernetes',
  rolloutRestart: false,
  podCounts: true,
  leaderElect: true,
  leaseName: 'sidecar-operator-leader',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  resyncPeriodMs: 300_000,
  shutdownDelayMs: 0,
  workers: 4,
  certSource: 'self',
  secretName: DEFAULT_SECRET_NAME,
  caLifetimeMs: DEFAULT_CERTIFICATE_SETTINGS.caLifetimeMs,
  leafLifetimeMs: DEFAULT_CERTIFICATE_SETTINGS.leafLifetimeMs,
  admissionEvents: true,
  admissionEventsUnauthenticated: false,
  initImage: DEFAULT_INIT_IMAGE,
  admissionCheck: true,
  logLevel: 'info',
  logFormat: 'json',
};

/** What `startOperator` takes: any settings (the rest default), and what only code can pass. */
export interface OperatorConfig extends Partial<Omit<OperatorSettings, 'kubeconfig' | 'context'>> {
  log: Logger;
  /** A ready client, or where to load one from. */
  kc?: KubeConfig;
  kubeconfig?: KubeConfigSource;
  /** Certificate settings beyond the two lifetimes (tests shorten the schedule). */
  certificates?: Partial<CertificateSettings>;
  /** Per-key retry backoff of the controller. */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  /** How long a deleting policy's failing cleanup is retried before its finalizer goes anyway (5 min). */
  cleanupTimeoutMs?: number;
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop) in the registry; default true. */
  processMetrics?: boolean;
}

/** A configuration with every default filled in. */
export type ResolvedConfig = OperatorConfig & Omit<OperatorSettings, Optional | 'kubeconfig' | 'context'>;

export function resolveConfig(c: OperatorConfig): ResolvedConfig {
  const set = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  return { ...DEFAULTS, ...set } as ResolvedConfig;
}

/** How a flag's text becomes a value. */
export type FlagKind = 'string' | 'port' | 'count' | 'bool' | 'duration' | 'list' | 'choice';

export interface FlagSpec {
  setting: keyof OperatorSettings;
  kind: FlagKind;
  /** `<placeholder>` in help. */
  arg: string;
  description: string;
  env?: string;
  choices?: readonly string[];
}

/**
 * The `run` command's flags, each onto its setting; a flag's default is DEFAULTS[setting]. The
 * same table builds the command (src/cli/commands/run.ts) and reads its flags back.
 */
export const RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  kubeconfig: {
    setting: 'kubeconfig',
    kind: 'string',
    arg: 'path',
    description: 'kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config)',
    env: 'KUBECONFIG',
  },
  context: { setting: 'context', kind: 'string', arg: 'name', description: 'kubeconfig context' },
  'operator-namespace': {
    setting: 'namespace',
    kind: 'string',
    arg: 'namespace',
    description: "the operator's namespace",
    env: 'POD_NAMESPACE',
  },
  'service-name': {
    setting: 'serviceName',
    kind: 'string',
    arg: 'name',
    description: 'Service the API server reaches the webhook through',
    env: 'SERVICE_NAME',
  },
  'webhook-url': {
    setting: 'webhookUrl',
    kind: 'string',
    arg: 'url',
    description: 'base URL of the webhook when running outside the cluster',
    env: 'WEBHOOK_URL',
  },
  'webhook-host': {
    setting: 'webhookHost',
    kind: 'string',
    arg: 'addr',
    description: 'address the webhook listens on (default all)',
  },
  'webhook-port': {
    setting: 'webhookPort',
    kind: 'port',
    arg: 'port',
    description: 'HTTPS port of the webhook, /metrics and probes',
  },
  'metrics-port': {
    setting: 'metricsPort',
    kind: 'port',
    arg: 'port',
    description: 'also serve /metrics and probes over plain HTTP on this port',
  },
  'metrics-auth': {
    setting: 'metricsAuth',
    kind: 'choice',
    arg: 'mode',
    description:
      'who may read /metrics: kubernetes (a bearer token allowed get on /metrics, by TokenReview and SubjectAccessReview) or none (anyone)',
    choices: ['kubernetes', 'none'],
  },
  'rollout-restart': {
    setting: 'rolloutRestart',
    kind: 'bool',
    arg: 'bool',
    description: 'restart workloads for policies with rollout strategy Restart (needs patch on workloads)',
  },
  'pod-counts': {
    setting: 'podCounts',
    kind: 'bool',
    arg: 'bool',
    description:
      'count pods per policy from a metadata-only watch of every pod (needs list and watch on pods)',
  },
  'leader-elect': {
    setting: 'leaderElect',
    kind: 'bool',
    arg: 'bool',
    description: 'elect one reconciling replica through a Lease',
  },
  'lease-name': { setting: 'leaseName', kind: 'string', arg: 'name', description: 'name of the Lease' },
  'lease-duration': { setting: 'leaseDurationMs', kind: 'duration', arg: 'd', description: 'lease duration' },
  'renew-deadline': {
    setting: 'renewDeadlineMs',
    kind: 'duration',
    arg: 'd',
    description: 'leader gives up after failing to renew this long',
  },
  'retry-period': {
    setting: 'retryPeriodMs',
    kind: 'duration',
    arg: 'd',
    description: 'interval between lease attempts',
  },
  'shutdown-delay': {
    setting: 'shutdownDelayMs',
    kind: 'duration',
    arg: 'd',
    description: 'on SIGTERM, keep answering admissions this long after giving up leadership, then drain',
  },
  'resync-period': {
    setting: 'resyncPeriodMs',
    kind: 'duration',
    arg: 'd',
    description: 'reconcile every policy at this interval',
  },
  workers: { setting: 'workers', kind: 'count', arg: 'n', description: 'concurrent reconciles' },
  'policy-selector': {
    setting: 'policySelector',
    kind: 'string',
    arg: 'labels',
    description: 'reconcile only the policies matching this label selector',
  },
  'cert-source': {
    setting: 'certSource',
    kind: 'choice',
    arg: 'source',
    description:
      'who issues the serving certificate: self (the operator is its own CA and rotates it; "operator" is an alias) or cert-manager',
    choices: ['self', 'operator', 'cert-manager'],
  },
  'cert-manager-certificate': {
    setting: 'certManagerCertificate',
    kind: 'string',
    arg: 'name',
    description:
      'with --cert-source=cert-manager: the Certificate (in --operator-namespace) cainjector copies the CA from (default: the Secret name)',
  },
  'cert-secret': {
    setting: 'secretName',
    kind: 'string',
    arg: 'name',
    description: 'Secret holding the serving certificate',
  },
  'ca-lifetime': {
    setting: 'caLifetimeMs',
    kind: 'duration',
    arg: 'd',
    description: 'lifetime of the CA the operator creates (e.g. 8760h, 365d, 40s)',
  },
  'cert-lifetime': {
    setting: 'leafLifetimeMs',
    kind: 'duration',
    arg: 'd',
    description: 'lifetime of the serving certificate (e.g. 2160h, 90d, 12s)',
  },
  identity: {
    setting: 'identity',
    kind: 'string',
    arg: 'id',
    description: 'leader election identity (default: pod name + random suffix)',
    env: 'POD_NAME',
  },
  'admission-events': {
    setting: 'admissionEvents',
    kind: 'bool',
    arg: 'bool',
    description:
      "record Events on pods' owners for each injection decision an authenticated caller asked for",
  },
  'admission-events-unauthenticated': {
    setting: 'admissionEventsUnauthenticated',
    kind: 'bool',
    arg: 'bool',
    description: 'record them for unauthenticated callers too (without --webhook-client-ca, every caller is)',
  },
  'webhook-client-ca': {
    setting: 'webhookClientCAFile',
    kind: 'string',
    arg: 'file',
    description: "PEM CA that signs the API server's webhook client certificate; others get 401",
    env: 'WEBHOOK_CLIENT_CA_FILE',
  },
  'webhook-client-names': {
    setting: 'webhookClientNames',
    kind: 'list',
    arg: 'cn,...',
    description: 'common names a webhook client certificate may carry',
  },
  'init-image': {
    setting: 'initImage',
    kind: 'string',
    arg: 'image',
    description: "image of the injected sidecar-init when a policy sets no init.image (the operator's own)",
    env: 'SIDECAR_INIT_IMAGE',
  },
  'admission-check': {
    setting: 'admissionCheck',
    kind: 'bool',
    arg: 'bool',
    description:
      'dry-run an injected pod in each governed namespace and report whether the API server admits it (PodsAdmissible)',
  },
  'log-level': {
    setting: 'logLevel',
    kind: 'string',
    arg: 'level',
    description: 'trace, debug, info, warn, error',
    env: 'LOG_LEVEL',
  },
  'log-format': {
    setting: 'logFormat',
    kind: 'choice',
    arg: 'format',
    description: 'log format',
    env: 'LOG_FORMAT',
    choices: ['json', 'text'],
  },
};

/**
 * The chart's values that configure the operator, each with the `run` flag the Deployment passes
 * it to (charts/sidecar-operator/templates/deployment.yaml). Every other value shapes Kubernetes
 * objects only (replicas, image, resources…).
 */
export const CHART_VALUES: Readonly<Record<string, string>> = {
  'leaderElection.enabled': 'leader-elect',
  'leaderElection.leaseName': 'lease-name',
  'webhook.port': 'webhook-port',
  'webhook.admissionEvents': 'admission-events',
  'webhook.admissionEventsUnauthenticated': 'admission-events-unauthenticated',
  'webhook.probePort': 'metrics-port',
  'metrics.auth': 'metrics-auth',
  'rollout.enabled': 'rollout-restart',
  'podCounting.enabled': 'pod-counts',
  'certificates.source': 'cert-source',
  'certificates.secretName': 'cert-secret',
  'certificates.caLifetime': 'ca-lifetime',
  'certificates.leafLifetime': 'cert-lifetime',
  'admissionCheck.enabled': 'admission-check',
  'logging.format': 'log-format',
  'logging.level': 'log-level',
};
