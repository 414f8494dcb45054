import { lookup } from 'node:dns/promises';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  VersionApi,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Namespace,
  type V1Pod,
} from '@kubernetes/client-node';
import { API_VERSION, POLICY_LABEL, policyPath, type SidecarPolicy } from '../api/index.js';
import { DEFAULT_SECRET_NAME, summarizeSecret } from '../certs/index.js';
import { findProxy, INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME, type Pod } from '../inject/index.js';
import { apiFailure, isNotFound, requestJson } from '../kube/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  parseInjectorTemplates,
  parseLegacyInjectorConfigMap,
  type ParsedTemplates,
} from '../render/injector-configmap.js';
import { resolveNamespaceMarks, selectsNamespace } from '../render/namespace-marks.js';
import { carriesOtherMesh, isForeignInjector, type MeshInputs } from './mesh-checks.js';
import type { AdmissionDryRun, DoctorInputs, WebhookProbe } from './inputs.js';
import { postReview, probeTls, type Dial } from './probe.js';
import { DEFAULT_LEASE_NAME, deploymentNamespaces, readLease, readWorkload } from './gather-operator.js';
import { containerTrouble } from './runtime-checks.js';

export interface GatherOptions {
  namespace?: string;
  pod?: string;
  operatorNamespace?: string;
  /** Narrow the webhook checks to this policy. */
  policy?: string;
  /** Where to reach the webhook instead of its clientConfig (e.g. a port-forward): https://host:port. */
  webhookUrl?: string;
  certSecret?: string;
  /** The operator's leader election Lease (its --lease-name). */
  leaseName?: string;
  now: Date;
  timeoutMs?: number;
}

/** Marks the pods doctor sends in dry runs, so that logs and audit records can tell them apart. */
export const DOCTOR_PROBE_ANNOTATION = 'sidecar.dev/doctor-probe';

const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

function message(err: unknown): string {
  const f = apiFailure(err);
  return f.code ? `${f.code} ${f.message}` : f.message;
}

/** Inputs with nothing gathered yet. */
export function emptyInputs(now: Date): DoctorInputs {
  return {
    now,
    groupVersions: [],
    crdInstalled: false,
    operatorNamespaceCandidates: [],
    policies: [],
    scope: [],
    webhookConfigurations: [],
    probes: new Map(),
  };
}

/** The whole cluster-side picture the checks need, stage after stage. Never throws for what a check can report. */
export async function gatherInputs(kc: KubeConfig, opts: GatherOptions): Promise<DoctorInputs> {
  const inputs = emptyInputs(opts.now);
  await gatherCluster(kc, inputs);
  if (inputs.connectError !== undefined || !inputs.crdInstalled) return inputs;
  await gatherOperator(kc, opts, inputs);
  for (const policy of inputs.scope) {
    const probe = await gatherProbe(opts, inputs, policy);
    if (probe) inputs.probes.set(policy, probe);
  }
  await gatherAdmission(kc, inputs);
  await gatherTarget(kc, opts, inputs);
  return inputs;
}

/** Stage 1: the API server answers, which APIs it serves, whether the CRD is installed. */
export async function gatherCluster(kc: KubeConfig, inputs: DoctorInputs): Promise<void> {
  try {
    inputs.serverVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch (err) {
    inputs.connectError = message(err);
    return;
  }
  const apis = await requestJson<{ groups?: { versions?: { groupVersion: string }[] }[] }>(kc, {
    path: '/apis',
  });
  inputs.groupVersions = (apis.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion));
  inputs.crdInstalled = inputs.groupVersions.includes(API_VERSION);
}

/**
 * Stage 2: the policies, the operator (templates, certificate Secret, Deployments, Lease, /readyz of
 * its pods), its webhook configurations, the --namespace and --pod, and the policies in scope.
 */
export async function gatherOperator(
  kc: KubeConfig,
  opts: GatherOptions,
  inputs: DoctorInputs,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  inputs.policies = (await requestJson<{ items: SidecarPolicy[] }>(kc, { path: policyPath() })).items;
  await findOperator(kc, core, opts, inputs);
  const mwcs = await kc
    .makeApiClient(AdmissionregistrationV1Api)
    .listMutatingWebhookConfiguration({ labelSelector: MANAGED_SELECTOR });
  inputs.webhookConfigurations = mwcs.items;
  if (inputs.operatorNamespace !== undefined) {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    inputs.workload = await readWorkload(kc, inputs.operatorNamespace, mwcs.items, timeoutMs);
    inputs.lease = await readLease(kc, inputs.operatorNamespace, opts.leaseName ?? DEFAULT_LEASE_NAME);
  }
  if (opts.namespace !== undefined) inputs.namespace = await readNamespace(core, opts.namespace);
  if (opts.pod !== undefined) inputs.pod = await readPod(core, opts.namespace ?? 'default', opts.pod);
  inputs.scope = scopeOf(inputs, opts);
}

/** Stage 3, once per policy in scope: a TLS probe and a dry-run review of its webhook (the slow part). */
export async function gatherProbe(
  opts: GatherOptions,
  inputs: DoctorInputs,
  policy: string,
): Promise<WebhookProbe | undefined> {
  const mwc = inputs.webhookConfigurations.find((m) => m.metadata?.name === policy);
  if (!mwc) return undefined;
  return probeWebhook(mwc, policyOf(inputs, policy), opts.namespace ?? 'default', opts);
}

/** Stage 3, last: a pod created with dryRun=All through the API server. */
export async function gatherAdmission(kc: KubeConfig, inputs: DoctorInputs): Promise<void> {
  inputs.admission = await admissionDryRun(kc.makeApiClient(CoreV1Api), inputs);
}

/** Stage 4: the governed namespaces' pods and other meshes' injectors. */
export async function gatherTarget(kc: KubeConfig, opts: GatherOptions, inputs: DoctorInputs): Promise<void> {
  inputs.mesh = await gatherMesh(kc, kc.makeApiClient(CoreV1Api), inputs, opts);
}

/** Governed namespaces whose pods are listed for other meshes' sidecars, at most. */
const MESH_NAMESPACE_LIMIT = 100;

/** The namespaces our policies govern (or should), their pods with another mesh, other injectors. */
async function gatherMesh(
  kc: KubeConfig,
  core: CoreV1Api,
  inputs: DoctorInputs,
  opts: GatherOptions,
): Promise<MeshInputs> {
  const mesh: MeshInputs = { governed: new Map(), meshedPods: [], foreignWebhooks: [] };
  try {
    const all = (await core.listNamespace()).items;
    const resolved = resolveNamespaceMarks(inputs.policies, all, {
      operatorNamespace: inputs.operatorNamespace ?? '',
      revisions: new Map(),
    });
    for (const ns of all) {
      const name = ns.metadata?.name ?? '';
      if (opts.namespace !== undefined && name !== opts.namespace) continue;
      const policy = resolved.marks.get(name)?.policy ?? ns.metadata?.labels?.[POLICY_LABEL];
      if (policy !== undefined) mesh.governed.set(name, { policy, object: ns });
    }
    const names = [...mesh.governed.keys()].sort();
    const governedPods: NonNullable<DoctorInputs['governedPods']> = [];
    for (const namespace of names.slice(0, MESH_NAMESPACE_LIMIT)) {
      const pods = (await core.listNamespacedPod({ namespace })).items as Pod[];
      mesh.meshedPods.push(...pods.filter(carriesOtherMesh));
      governedPods.push({ namespace, policy: mesh.governed.get(namespace)!.policy, pods });
    }
    if (names.length <= MESH_NAMESPACE_LIMIT) inputs.governedPods = governedPods;
    if (names.length > MESH_NAMESPACE_LIMIT) mesh.namespacesNotListed = names.length - MESH_NAMESPACE_LIMIT;
    const mwcs = await kc.makeApiClient(AdmissionregistrationV1Api).listMutatingWebhookConfiguration();
    mesh.foreignWebhooks = mwcs.items.filter(isForeignInjector);
  } catch (err) {
    mesh.error = message(err);
  }
  return mesh;
}

/** Namespaces holding an injector template ConfigMap (one per policy, or an older release's shared one). */
async function operatorNamespaces(core: CoreV1Api): Promise<string[]> {
  const [own, legacy] = await Promise.all([
    core.listConfigMapForAllNamespaces({
      labelSelector: `${MANAGED_SELECTOR},${INJECTOR_TEMPLATE_SELECTOR}`,
    }),
    core.listConfigMapForAllNamespaces({
      labelSelector: MANAGED_SELECTOR,
      fieldSelector: `metadata.name=${LEGACY_INJECTOR_CONFIGMAP}`,
    }),
  ]);
  return [...new Set([...own.items, ...legacy.items].map((c) => c.metadata?.namespace ?? ''))].sort();
}

/** The templates the webhook serves: each policy's ConfigMap, else its entry in an older shared one. */
async function readTemplates(core: CoreV1Api, namespace: string): Promise<ParsedTemplates> {
  const own = await core.listNamespacedConfigMap({ namespace, labelSelector: INJECTOR_TEMPLATE_SELECTOR });
  const parsed = parseInjectorTemplates(own.items);
  try {
    const legacy = parseLegacyInjectorConfigMap(
      await core.readNamespacedConfigMap({ name: LEGACY_INJECTOR_CONFIGMAP, namespace }),
    );
    for (const [policy, t] of legacy.templates)
      if (!parsed.templates.has(policy)) parsed.templates.set(policy, t);
    parsed.errors.push(...legacy.errors.filter((e) => !parsed.templates.has(e.key)));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return parsed;
}

async function findOperator(
  kc: KubeConfig,
  core: CoreV1Api,
  opts: GatherOptions,
  inputs: DoctorInputs,
): Promise<void> {
  let ns = opts.operatorNamespace;
  if (ns === undefined) {
    let names = await operatorNamespaces(core);
    // Nothing rendered yet: the operator's Deployment still says where it runs.
    if (names.length === 0) names = await deploymentNamespaces(kc);
    if (names.length === 1) ns = names[0];
    else inputs.operatorNamespaceCandidates = names;
  }
  if (ns === undefined) return;
  inputs.operatorNamespace = ns;
  inputs.templates = await readTemplates(core, ns);
  const secret = opts.certSecret ?? DEFAULT_SECRET_NAME;
  try {
    const summary = summarizeSecret(await core.readNamespacedSecret({ name: secret, namespace: ns }));
    inputs.certificate = summary
      ? { secret, summary }
      : { secret, problem: `Secret ${ns}/${secret} holds no usable certificate` };
  } catch (err) {
    inputs.certificate = { secret, problem: `cannot read Secret ${ns}/${secret}: ${message(err)}` };
  }
}

async function readNamespace(core: CoreV1Api, name: string): Promise<{ name: string; object?: V1Namespace }> {
  try {
    return { name, object: await core.readNamespace({ name }) };
  } catch (err) {
    if (isNotFound(err)) return { name };
    throw err;
  }
}

async function readPod(core: CoreV1Api, namespace: string, name: string): Promise<DoctorInputs['pod']> {
  let pod: V1Pod;
  try {
    pod = await core.readNamespacedPod({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return { name, found: false };
    throw err;
  }
  const logs: Record<string, string> = {};
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    if (s.name !== INIT_CONTAINER_NAME && s.name !== PROXY_CONTAINER_NAME) continue;
    if (containerTrouble(s) === undefined) continue;
    const previous = s.state?.terminated === undefined && s.lastState?.terminated !== undefined;
    try {
      logs[s.name] = await core.readNamespacedPodLog({
        name,
        namespace,
        container: s.name,
        previous,
        tailLines: 5,
      });
    } catch {
      // No log to show (the container never ran); the state says enough.
    }
  }
  return { name, found: true, pod: pod as Pod, status: pod.status, logs };
}

function policyOf(inputs: DoctorInputs, name: string): SidecarPolicy | undefined {
  return inputs.policies.find((p) => p.metadata?.name === name);
}

/** --policy; else the policies that select or mark --namespace; else every policy. */
function scopeOf(inputs: DoctorInputs, opts: GatherOptions): string[] {
  const names = inputs.policies.map((p) => p.metadata?.name ?? '');
  if (opts.policy !== undefined) return names.includes(opts.policy) ? [opts.policy] : [];
  const ns = inputs.namespace?.object;
  if (opts.namespace === undefined) return names;
  if (!ns) return [];
  const marked = ns.metadata?.labels?.[POLICY_LABEL];
  return inputs.policies
    .filter((p) => selectsNamespace(p, ns) || p.metadata?.name === marked)
    .map((p) => p.metadata?.name ?? '');
}

function minimalPod(policy: SidecarPolicy | undefined, namespace: string): V1Pod {
  const labels = policy?.spec.selector.podSelector?.matchLabels ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'sidecar-doctor-',
      namespace,
      labels: { ...labels },
      annotations: { [DOCTOR_PROBE_ANNOTATION]: 'true' },
    },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

/** What the API server dials: the clientConfig URL, or the Service by its cluster DNS name. */
function targetOf(mwc: V1MutatingWebhookConfiguration) {
  const cc = mwc.webhooks?.[0]?.clientConfig ?? {};
  const configured = cc.url !== undefined ? new URL(cc.url) : undefined;
  const svc = cc.service;
  const expectedHost = configured?.hostname.replace(/^\[|\]$/g, '') ?? `${svc?.name}.${svc?.namespace}.svc`;
  const path = configured ? configured.pathname : (svc?.path ?? '/');
  return { configured, svc, expectedHost, path };
}

async function dialFor(
  mwc: V1MutatingWebhookConfiguration,
  opts: GatherOptions,
): Promise<{ dial?: Dial; url?: string; path: string; via?: WebhookProbe['via']; unreachable?: string }> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const { configured, svc, expectedHost, path } = targetOf(mwc);
  if (opts.webhookUrl !== undefined) {
    const o = new URL(opts.webhookUrl);
    const dial = {
      host: o.hostname.replace(/^\[|\]$/g, ''),
      port: Number(o.port || 443),
      expectedHost,
      timeoutMs,
    };
    return { dial, url: `https://${o.host}${path}`, path, via: 'override' };
  }
  if (configured) {
    const dial = { host: expectedHost, port: Number(configured.port || 443), expectedHost, timeoutMs };
    return { dial, url: configured.toString(), path, via: 'config' };
  }
  try {
    await lookup(expectedHost);
  } catch {
    return {
      path,
      unreachable: `the webhook is the Service ${svc?.namespace}/${svc?.name}, whose name ${expectedHost} does not resolve from here`,
    };
  }
  const dial = { host: expectedHost, port: svc?.port ?? 443, expectedHost, timeoutMs };
  return { dial, url: `https://${expectedHost}:${dial.port}${path}`, path, via: 'service' };
}

async function probeWebhook(
  mwc: V1MutatingWebhookConfiguration,
  policy: SidecarPolicy | undefined,
  namespace: string,
  opts: GatherOptions,
): Promise<WebhookProbe> {
  const caPem = Buffer.from(mwc.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
  const caBundleEmpty = !caPem.includes('BEGIN CERTIFICATE');
  const target = await dialFor(mwc, opts);
  const probe: WebhookProbe = {
    caBundleEmpty,
    url: target.url,
    via: target.via,
    unreachable: target.unreachable,
  };
  if (!target.dial) return probe;
  probe.tls = await probeTls(target.dial, caPem);
  probe.review = await postReview(target.dial, target.path, namespace, minimalPod(policy, namespace));
  return probe;
}

/** A pod created with dryRun=All where a policy in scope governs: did the API server inject it? */
async function admissionDryRun(core: CoreV1Api, inputs: DoctorInputs): Promise<AdmissionDryRun | undefined> {
  const target = await governedNamespace(core, inputs);
  if (!target) return undefined;
  const result: AdmissionDryRun = { ...target };
  try {
    const created = await core.createNamespacedPod({
      namespace: target.namespace,
      body: minimalPod(policyOf(inputs, target.policy), target.namespace),
      dryRun: 'All',
    });
    // The proxy container, not the status annotation, is what shows the webhook injected it.
    result.mutated = findProxy((created as Pod).spec) !== undefined;
  } catch (err) {
    const f = apiFailure(err);
    result.error = f.message;
    result.errorCode = f.code;
  }
  return result;
}

async function governedNamespace(
  core: CoreV1Api,
  inputs: DoctorInputs,
): Promise<{ namespace: string; policy: string } | undefined> {
  const ns = inputs.namespace?.object;
  const marked = ns?.metadata?.labels?.[POLICY_LABEL];
  if (ns && marked !== undefined && inputs.scope.includes(marked))
    return { namespace: inputs.namespace!.name, policy: marked };
  for (const policy of inputs.scope) {
    const list = await core.listNamespace({ labelSelector: `${POLICY_LABEL}=${policy}` });
    const first = list.items.find((n) => n.metadata?.deletionTimestamp === undefined);
    if (first) return { namespace: first.metadata?.name ?? '', policy };
  }
  return undefined;
}
