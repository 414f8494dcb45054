import { decideInjection, type InjectContext } from './decide.js';
import { diffList, diffMap, type PatchOperation } from './json-patch.js';
import type { ObjectMeta, Pod, PodSpec } from './k8s-types.js';
import { readOverrides, type InjectWarning } from './overrides.js';
import type { InjectDecision } from './reasons.js';
import { sidecars } from './sidecars.js';
import {
  DEFAULT_CONTAINER_ANNOTATION,
  formatStatus,
  parseStatus,
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
  const old = parseStatus(meta.annotations);
  const base = old ? withoutInjected(spec, old) : spec;
  const overrides = readOverrides(
    meta.annotations ?? {},
    template.interception,
    template.injection.allowedOverrides,
  );
  const added = sidecars(template, overrides, base);

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

/** The pod as it was before an earlier injection, going by what its status annotation names. */
function withoutInjected(spec: PodSpec, old: InjectionStatus): PodSpec {
  const drop = (names: string[]) => (item: { name: string }) => !names.includes(item.name);
  return {
    ...spec,
    initContainers: spec.initContainers?.filter(drop(old.initContainers)),
    containers: spec.containers.filter(drop(old.containers)),
    volumes: spec.volumes?.filter(drop(old.volumes)),
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
