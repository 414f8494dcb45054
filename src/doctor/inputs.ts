import type { V1MutatingWebhookConfiguration, V1Namespace, V1PodStatus } from '@kubernetes/client-node';
import type { SidecarPolicy } from '../api/index.js';
import type { CertificateSummary } from '../certs/index.js';
import type { Pod } from '../inject/index.js';
import type { ParsedTemplates } from '../render/injector-configmap.js';
import type { MeshInputs } from './mesh-checks.js';

/** What a TLS connection to the webhook showed. */
export interface TlsProbe {
  /** host:port actually dialled. */
  address: string;
  /** The name the certificate must carry (the Service DNS name or the URL's host). */
  expectedHost: string;
  /** Set when no TLS session was established (refused, timeout, DNS…). */
  connectError?: string;
  /** Whether the served chain verifies against the caBundle, and why not. */
  chainVerified?: boolean;
  chainError?: string;
  /** Hostname verification against `expectedHost`, when the chain verified. */
  hostnameError?: string;
  peerSubject?: string;
  peerNotAfter?: Date;
}

/** What POSTing a dry-run AdmissionReview to the webhook returned. */
export interface ReviewProbe {
  error?: string;
  httpStatus?: number;
  allowed?: boolean;
  /** Number of JSON Patch operations in the answer. */
  patchOps?: number;
  message?: string;
}

/** How the webhook of one policy was reached (or why it could not be). */
export interface WebhookProbe {
  /** The URL dialled; undefined when nothing could be dialled (then `unreachable` says why). */
  url?: string;
  /** `config` = clientConfig.url; `override` = --webhook-url; `service` = the Service's cluster DNS name. */
  via?: 'config' | 'override' | 'service';
  unreachable?: string;
  caBundleEmpty: boolean;
  tls?: TlsProbe;
  review?: ReviewProbe;
}

/** A pod created with dryRun=All in a governed namespace, to see the API server call the webhook. */
export interface AdmissionDryRun {
  namespace: string;
  policy: string;
  /** The pod came back with the proxy container. */
  mutated?: boolean;
  /** The create was refused (e.g. "failed calling webhook … connection refused"). */
  error?: string;
  errorCode?: number;
}

export interface PodInputs {
  name: string;
  found: boolean;
  pod?: Pod;
  /** The kubelet's account of the pod's containers. */
  status?: V1PodStatus;
  /** The last lines of the log of each sidecar container that failed (its previous run's after a crash). */
  logs?: Record<string, string>;
}

/** The operator as it runs in the cluster: its Deployments and the webhook Service's endpoints. */
export interface OperatorWorkload {
  deployments: {
    name: string;
    replicas: number;
    ready: number;
    /** Why pods of it are not ready, one phrase per pod. */
    problems: string[];
  }[];
  service?: { name: string; readyEndpoints: number };
  /** /readyz of each pod of the operator's Deployments, through the API server's pods proxy. */
  replicas?: ReplicaReadiness[];
}

/** What one operator pod's /readyz answered through the pods proxy, or why it could not be asked. */
export interface ReplicaReadiness {
  pod: string;
  httpStatus?: number;
  /** The start of the answer: the pod's own words, or the API server's Status when the proxy failed. */
  body?: string;
  /** Set when it was not asked (no IP yet, no port) or the request failed. */
  error?: string;
}

/** The leader election Lease the operator's replicas campaign for. */
export interface LeaderLease {
  namespace: string;
  name: string;
  found: boolean;
  holder?: string;
  renewTime?: Date;
  durationSeconds?: number;
  /** Why it could not be read (other than not found). */
  error?: string;
}

/** The pods of one governed namespace that doctor lists to tell missed injections from skipped ones. */
export interface NamespacePods {
  namespace: string;
  policy: string;
  pods: Pod[];
}

/** Everything the checks look at, gathered first (by `gather.ts`), so the checks are pure. */
export interface DoctorInputs {
  now: Date;
  /** Set when the API server could not be reached at all; the other fields are then empty. */
  connectError?: string;
  serverVersion?: string;
  /** Served groupVersions, e.g. `admissionregistration.k8s.io/v1`. */
  groupVersions: string[];
  crdInstalled: boolean;
  /** Where the operator runs: from --operator-namespace, or found by its injector template ConfigMaps. */
  operatorNamespace?: string;
  /** Namespaces holding injector template ConfigMaps, when more than one was found and none was given. */
  operatorNamespaceCandidates: string[];
  /** The templates the webhook serves (one ConfigMap per policy, an older shared one as fallback). */
  templates?: ParsedTemplates;
  policies: SidecarPolicy[];
  /** Policies the webhook checks cover (all, or those the namespace/--policy narrowed to). */
  scope: string[];
  webhookConfigurations: V1MutatingWebhookConfiguration[];
  probes: Map<string, WebhookProbe>;
  admission?: AdmissionDryRun;
  namespace?: { name: string; object?: V1Namespace };
  pod?: PodInputs;
  /** The operator's Deployments and webhook endpoints, when it runs in the cluster. */
  workload?: OperatorWorkload;
  /** The leader Lease in the operator's namespace. */
  lease?: LeaderLease;
  /** Pods of the governed namespaces (--namespace narrows them), when they could be listed. */
  governedPods?: NamespacePods[];
  /** Other meshes' pods and injectors in the governed namespaces (--namespace narrows them). */
  mesh?: MeshInputs;
  /** The operator's certificate Secret: summary, or why it is not usable. */
  certificate?: { secret: string; summary?: CertificateSummary; problem?: string };
}
