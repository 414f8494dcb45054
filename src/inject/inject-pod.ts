import { decideInjection, type InjectContext } from './decide.js';
import { fitPreStopToGrace } from './grace.js';
import { buildInitArgs, inboundPortsFor } from './init-args.js';
import { diffList, diffMap, type PatchOperation } from './json-patch.js';
import type { Container, ObjectMeta, Pod, PodSpec } from './k8s-types.js';
import { readOverrides, type InjectWarning, type Overrides } from './overrides.js';
import type { InjectDecision } from './reasons.js';
import { RESERVED_CONTAINER_NAMES } from './present.js';
import {
  DEFAULT_CONTAINER_ANNOTATION,
  formatStatus,
  REVISION_LABEL,
  STATUS_ANNOTATION,
  type InjectionStatus,
} from './status.js';
import type { CompiledTemplate, InterceptionMode } from './template.js';

export interface InjectResult {
  decision: InjectDecision;
  /** The injected pod; the input itself when nothing is injected. */
  pod: Pod;
  /** RFC 6902 operations turning the input into `pod`; empty when nothing is injected. */
  patch: PatchOperation[];
  /** Override annotations that were not applied, and why. */
  warnings: InjectWarning[];
}

/**
 * Inject one pod. Pure: the input is never modified, and the output shares every untouched part with
 * it (containers, volumes, managedFields), which keeps large pods cheap and lets the patch be read off
 * by reference. `managedFields` is never looked at, copied or patched.
 */
export function injectPod(pod: Pod, template: CompiledTemplate, ctx: InjectContext): InjectResult {
  const decision = decideInjection(pod, template, ctx);
  if (!decision.inject) return { decision, pod, patch: [], warnings: [] };
  const meta: ObjectMeta = pod.metadata ?? {};
  const spec: PodSpec = pod.spec ?? { containers: [] };
  const base = decision.reason === 'Reinjected' ? withoutInjected(spec, template) : spec;
  const overrides = readOverrides(
    meta.annotations ?? {},
    template.interception,
    template.injection.allowedOverrides,
  );
  const added = fitToGrace(
    sidecars(template, overrides, base.containers),
    spec.terminationGracePeriodSeconds,
  );

  const newSpec: PodSpec = {
    ...spec,
    initContainers: [...added.initContainers, ...(base.initContainers ?? [])],
    containers: added.proxyFirst
      ? [...added.containers, ...base.containers]
      : [...base.containers, ...added.containers],
    volumes: [...(base.volumes ?? []), ...template.volumes],
  };
  if (newSpec.initContainers?.length === 0 && spec.initContainers === undefined)
    delete newSpec.initContainers;

  const status: InjectionStatus = {
    policy: template.policy,
    revision: template.revision,
    initContainers: added.initContainers.map((c) => c.name),
    containers: added.containers.map((c) => c.name),
    volumes: template.volumes.map((v) => v.name),
  };
  const annotations: Record<string, string> = {
    ...meta.annotations,
    [STATUS_ANNOTATION]: formatStatus(status),
  };
  const app = base.containers[0]?.name;
  if (added.proxyFirst && app !== undefined && annotations[DEFAULT_CONTAINER_ANNOTATION] === undefined) {
    // kubectl logs/exec pick the first container unless told otherwise; keep them on the app.
    annotations[DEFAULT_CONTAINER_ANNOTATION] = app;
  }
  const labels: Record<string, string> = { ...meta.labels, [REVISION_LABEL]: template.revision };
  const out: Pod = { ...pod, metadata: { ...meta, annotations, labels }, spec: newSpec };
  return { decision, pod: out, patch: patchFor(pod, out), warnings: overrides.warnings };
}

/** The proxy's drain pause shortened to what the pod's grace period allows (the API server insists). */
function fitToGrace(added: Sidecars, grace: unknown): Sidecars {
  const seconds = typeof grace === 'number' ? grace : undefined;
  return {
    ...added,
    initContainers: added.initContainers.map((c) => fitPreStopToGrace(c, seconds)),
    containers: added.containers.map((c) => fitPreStopToGrace(c, seconds)),
  };
}

interface Sidecars {
  initContainers: Container[];
  containers: Container[];
  proxyFirst: boolean;
}

/**
 * The containers to add and where. Native: the proxy right after the iptables init container, so the
 * app's init containers already have a working proxy. Classic: the first container when the app must
 * wait for it (the kubelet starts containers in order and waits for each postStart hook), else the
 * last, as Istio does.
 */
function sidecars(template: CompiledTemplate, overrides: Overrides, app: Container[]): Sidecars {
  const proxy = forMode(
    withResources(template.proxyContainer, overrides.requests, overrides.limits),
    template.interception.mode,
    overrides.interception.mode,
  );
  const initContainers: Container[] = [];
  if (template.initContainer && overrides.interception.mode !== 'None') {
    const ports = inboundPortsFor(overrides.interception, app, overrides.inboundFromAnnotation);
    initContainers.push({ ...template.initContainer, args: buildInitArgs(overrides.interception, ports) });
  }
  if (template.sidecarMode === 'Native')
    return { initContainers: [...initContainers, proxy], containers: [], proxyFirst: false };
  return {
    initContainers,
    containers: [proxy],
    proxyFirst: template.injection.holdApplicationUntilProxyStarts,
  };
}

/**
 * The pod without an earlier sidecar: the containers under the names injection reserves, and the
 * volumes the template adds. Never by what the status annotation lists, which the pod's author may
 * have written to name the application's own containers.
 */
function withoutInjected(spec: PodSpec, template: CompiledTemplate): PodSpec {
  const volumes = new Set(template.volumes.map((v) => v.name));
  const container = (c: Container) => !RESERVED_CONTAINER_NAMES.includes(c.name);
  return {
    ...spec,
    initContainers: spec.initContainers?.filter(container),
    containers: spec.containers.filter(container),
    volumes: spec.volumes?.filter((v) => !volumes.has(v.name)),
  };
}

interface Capabilities {
  add?: string[];
  drop?: string[];
  [key: string]: unknown;
}

/**
 * The proxy for the pod's interception mode when an override changed it: TPROXY needs NET_ADMIN
 * (IP_TRANSPARENT on the proxy's sockets), which the template grants only when the policy's own
 * mode is TPROXY; a pod switched back to REDIRECT does not keep it.
 */
function forMode(proxy: Container, policyMode: InterceptionMode, podMode: InterceptionMode): Container {
  if (podMode === policyMode || (podMode !== 'TPROXY' && policyMode !== 'TPROXY')) return proxy;
  const sc = (proxy.securityContext ?? {}) as { capabilities?: Capabilities; [key: string]: unknown };
  const { add = [], ...rest } = sc.capabilities ?? {};
  const others = add.filter((c) => c !== 'NET_ADMIN');
  const wanted = podMode === 'TPROXY' ? [...others, 'NET_ADMIN'] : others;
  const capabilities: Capabilities = wanted.length > 0 ? { add: wanted, ...rest } : rest;
  return { ...proxy, securityContext: { ...sc, capabilities } };
}

function withResources(
  proxy: Container,
  requests: Record<string, string>,
  limits: Record<string, string>,
): Container {
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return proxy;
  const res = (proxy.resources ?? {}) as {
    requests?: Record<string, unknown>;
    limits?: Record<string, unknown>;
  };
  const resources: Record<string, unknown> = { ...res };
  if (Object.keys(requests).length > 0) resources.requests = { ...res.requests, ...requests };
  if (Object.keys(limits).length > 0) resources.limits = { ...res.limits, ...limits };
  return { ...proxy, resources };
}

function patchFor(before: Pod, after: Pod): PatchOperation[] {
  const am = after.metadata ?? {};
  const as = after.spec ?? { containers: [] };
  if (before.metadata === undefined)
    return [{ op: 'add', path: '/metadata', value: am }, ...specPatch(before, as)];
  return [
    ...diffMap('/metadata/annotations', before.metadata.annotations, am.annotations ?? {}),
    ...diffMap('/metadata/labels', before.metadata.labels, am.labels ?? {}),
    ...specPatch(before, as),
  ];
}

function specPatch(before: Pod, as: PodSpec): PatchOperation[] {
  if (before.spec === undefined) return [{ op: 'add', path: '/spec', value: as }];
  const bs = before.spec;
  return [
    ...diffList('/spec/initContainers', bs.initContainers, as.initContainers ?? []),
    ...diffList('/spec/containers', bs.containers, as.containers),
    ...diffList('/spec/volumes', bs.volumes, as.volumes ?? []),
  ];
}
