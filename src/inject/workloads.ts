import type { InjectContext } from './decide.js';
import { injectPod, type InjectResult } from './inject-pod.js';
import type { PatchOperation } from './json-patch.js';
import type { ObjectMeta, Pod, PodSpec } from './k8s-types.js';
import type { CompiledTemplate } from './template.js';
import { applyOps as applyPatch, ISTIO_STATUS, metadataOps, uninjectPod } from './uninject.js';
import { metadataProblem, podSpecProblem } from './validate.js';

/**
 * Where objects keep their pod template, tried in order. Found by shape, not by kind, so that every
 * workload API built on a pod template is covered (Deployment, ReplicaSet, ReplicationController,
 * DaemonSet, StatefulSet, Job, OpenShift's DeploymentConfig, Argo's Rollout, …): a path counts when
 * it leads to an object whose `spec.containers` is present.
 */
export const POD_TEMPLATE_PATHS: readonly (readonly string[])[] = [
  ['spec', 'jobTemplate', 'spec', 'template'], // CronJob
  ['spec', 'template'],
];

export interface ObjectResult extends InjectResult {
  /** The whole object with its pod (template) injected. */
  object: Record<string, unknown>;
  /** The patch with paths rebased onto the object, ready for `kubectl patch --type=json`. */
  objectPatch: PatchOperation[];
}

/** An object with no pod to inject, and why (a phrase for `inject`'s notes). */
export interface NoPodTemplate {
  noPodTemplate: string;
}

/** A manifest object the engine cannot read; `field` is a dotted path into the object. */
export class ObjectShapeError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(object: Obj, path: readonly string[]): unknown {
  let v: unknown = object;
  for (const key of path) v = isObj(v) ? v[key] : undefined;
  return v;
}

/** The path of the object's pod template (`[]`: the object is a pod), or why it has none. */
export function podTemplatePath(object: Obj): readonly string[] | NoPodTemplate {
  if (object.kind === 'Pod') return [];
  for (const path of POD_TEMPLATE_PATHS) {
    const t = at(object, path);
    if (isObj(t) && isObj(t.spec) && t.spec.containers !== undefined) return path;
  }
  const kind = typeof object.kind === 'string' ? object.kind : 'an object without a kind';
  const template = at(object, ['spec', 'template']);
  if (template !== undefined) return { noPodTemplate: `${kind}'s spec.template has no spec.containers` };
  return { noPodTemplate: `${kind} has no pod template` };
}

/** What undoing the injections of one manifest object did. */
export interface UninjectedObject {
  object: Record<string, unknown>;
  objectPatch: PatchOperation[];
  /** One phrase per injector removed; empty when there was nothing to remove. */
  removed: string[];
  /** Why a pod with a proxy was left as it is. */
  kept?: string;
}

/** The pod template's path and the pod read from it, with what the engine reads checked. */
function readPod(object: Obj): { path: readonly string[]; read: Pod } | NoPodTemplate {
  const found = podTemplatePath(object);
  if ('noPodTemplate' in found) return found;
  const path: readonly string[] = found;
  const metaProblem = metadataProblem(object.metadata, 'metadata');
  if (metaProblem) throw new ObjectShapeError(metaProblem);
  const holder = at(object, path);
  if (!isObj(holder)) throw new ObjectShapeError(`${path.join('.')}: must be an object`);
  const problem =
    podSpecProblem(holder.spec, [...path, 'spec'].join('.')) ||
    (path.length > 0 ? metadataProblem(holder.metadata, [...path, 'metadata'].join('.')) : undefined);
  if (problem) throw new ObjectShapeError(problem);
  const read: Pod =
    path.length === 0
      ? object
      : { metadata: holder.metadata as ObjectMeta | undefined, spec: holder.spec as PodSpec };
  return { path, read };
}

const rebase = (path: readonly string[], ops: PatchOperation[]): PatchOperation[] => {
  const prefix = path.map((k) => `/${k}`).join('');
  return ops.map((op) => ({ ...op, path: prefix + op.path }));
};

/**
 * Inject the pod or pod template of one manifest object. Objects without a pod template give the
 * reason (pass them through unchanged). Templates are injected as pods; a template's namespace is
 * its object's.
 */
export function injectObject(
  object: Obj,
  template: CompiledTemplate,
  ctx: Omit<InjectContext, 'namespace'> & { defaultNamespace: string },
): ObjectResult | NoPodTemplate {
  const found = readPod(object);
  if ('noPodTemplate' in found) return found;
  const { path, read } = found;
  const meta = (object.metadata ?? {}) as ObjectMeta;
  const namespace = meta.namespace ?? ctx.defaultNamespace;
  const pod = withoutNulls(read);
  // The API server gives every namespace its name as a label; a selector may use it.
  const labels = ctx.namespaceLabels && { ...ctx.namespaceLabels, 'kubernetes.io/metadata.name': namespace };
  const result = injectPod(pod, template, {
    ...ctx,
    namespace,
    ...(labels ? { namespaceLabels: labels } : {}),
  });
  if (result.pod === pod) return { ...result, pod: read, object, objectPatch: [] };
  return { ...result, object: replaceAt(object, path, result.pod), objectPatch: rebase(path, result.patch) };
}

/** Remove our injection and Istio's from the pod or pod template of one manifest object. */
export function uninjectObject(object: Obj): UninjectedObject | NoPodTemplate {
  const found = readPod(object);
  if ('noPodTemplate' in found) return found;
  const { path, read } = found;
  const outerStatus = path
    .slice(1, -1)
    .map((_, i) => at(object, [...path.slice(0, i + 2), 'metadata', 'annotations', ISTIO_STATUS]))
    .find((v): v is string => typeof v === 'string');
  const result = uninjectPod(withoutNulls(read), outerStatus);
  if (result.patch.length === 0)
    return {
      object,
      objectPatch: [],
      removed: result.removed,
      ...(result.kept ? { kept: result.kept } : {}),
    };
  // Istio's kube-inject also marks the templates on the way (a CronJob's jobTemplate.metadata).
  const outer = path.slice(1, -1).flatMap((_, i) => {
    const prefix = path.slice(0, i + 2);
    const holder = at(object, prefix);
    const meta = isObj(holder) && isObj(holder.metadata) ? (holder.metadata as ObjectMeta) : undefined;
    const ops = meta ? metadataOps('/metadata', meta) : [];
    return ops.length > 0 ? rebase(prefix, ops) : [];
  });
  const objectPatch = [...outer, ...rebase(path, result.patch)];
  return { object: applyPatch(object, objectPatch), objectPatch, removed: result.removed };
}

/**
 * The pod with YAML's empty values (`annotations:`, `volumes:`) left out, as the API server reads
 * them; the patch then adds such a field whole, which replaces the null.
 */
function withoutNulls(pod: Pod): Pod {
  const drop = <T extends Obj>(o: T, keys: readonly string[]): T =>
    keys.some((k) => o[k] === null)
      ? (Object.fromEntries(Object.entries(o).filter(([k, v]) => !(keys.includes(k) && v === null))) as T)
      : o;
  const metadata = pod.metadata === null ? undefined : pod.metadata;
  const meta = metadata && drop(metadata, ['labels', 'annotations']);
  const spec = pod.spec && drop(pod.spec, ['initContainers', 'volumes']);
  if (meta === pod.metadata && spec === pod.spec) return pod;
  const out: Pod = { ...pod, spec };
  if (meta === undefined) delete out.metadata;
  else out.metadata = meta;
  return out;
}

/** A copy of `object` with the pod template at `path` replaced by `pod` (copying only the path). */
function replaceAt(object: Obj, path: readonly string[], pod: Pod): Obj {
  if (path.length === 0) return pod;
  const [key, ...rest] = path as [string, ...string[]];
  const child = object[key] as Obj;
  if (rest.length > 0) return { ...object, [key]: replaceAt(child, rest, pod) };
  const next: Obj = { ...child };
  if (pod.metadata !== undefined) next.metadata = pod.metadata;
  next.spec = pod.spec;
  return { ...object, [key]: next };
}
