import { decideInjection, type InjectContext } from './decide.js';
import { fitPreStopToGrace } from './grace.js';
import { diffList, diffMap, type PatchOperation } from './json-patch.js';
import type { Container, ObjectMeta, Pod, PodSpec } from './k8s-types.js';
import { readOverrides, type InjectWarning } from './overrides.js';
import type { InjectDecision } from './reasons.js';
import { RESERVED_CONTAINER_NAMES } from './present.js';
import { sidecars, type Sidecars } from './sidecars.js';
import {
  DEFAULT_CONTAINER_ANNOTATION,
  formatStatus,
  REVISION_LABEL,
  STATUS_ANNOTATION,
  type InjectionStatus,
} from './status.js';
import type { CompiledTemplate } from './template.js';

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
    { istio: template.compatibility?.istio !== undefined },
  );
  const added = fitToGrace(sidecars(template, overrides, base), spec.terminationGracePeriodSeconds);

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
  const warnings = [...overrides.warnings, ...added.warnings];
  return { decision, pod: out, patch: patchFor(pod, out), warnings };
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
