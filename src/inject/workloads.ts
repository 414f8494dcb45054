import type { InjectContext } from './decide.js';
import { injectPod, type InjectResult } from './inject-pod.js';
import type { PatchOperation } from './json-patch.js';
import type { ObjectMeta, Pod, PodSpec } from './k8s-types.js';
import type { CompiledTemplate } from './template.js';
import { podSpecProblem } from './validate.js';

/** Where each kind keeps its pod template, as a JSON Pointer (`''` = the object is the pod). */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface ObjectResult extends InjectResult {
  /** The whole object with its pod (template) injected. */
  object: Record<string, unknown>;
  /** The patch with paths rebased onto the object, ready for `kubectl patch --type=json`. */
  objectPatch: PatchOperation[];
}

/** A manifest object the engine cannot read; `field` is a dotted path into the object. */
export class ObjectShapeError extends Error {}

type Obj = Record<string, unknown>;

/**
 * Inject the pod or pod template of one manifest object. Kinds without a pod template give
 * undefined (pass them through unchanged). Templates are injected as pods; a template's namespace is
 * its object's.
 */
export function injectObject(
  object: Obj,
  template: CompiledTemplate,
  ctx: Omit<InjectContext, 'namespace'> & { defaultNamespace: string },
): ObjectResult | undefined {
  const path = typeof object.kind === 'string' ? POD_TEMPLATE_PATHS[object.kind] : undefined;
  if (path === undefined) return undefined;
  let holder: unknown = object;
  for (const [i, key] of path.entries()) {
    holder = (holder as Obj)[key];
    if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) {
      throw new ObjectShapeError(`${path.slice(0, i + 1).join('.')}: must be an object`);
    }
  }
  const t = holder as Obj;
  const specPath = [...path, 'spec'].join('.');
  const problem = podSpecProblem(t.spec, specPath);
  if (problem) throw new ObjectShapeError(problem);
  const meta = (object.metadata ?? {}) as ObjectMeta;
  const namespace = meta.namespace ?? ctx.defaultNamespace;
  const pod: Pod =
    path.length === 0 ? object : { metadata: t.metadata as ObjectMeta, spec: t.spec as PodSpec };
  const result = injectPod(pod, template, { ...ctx, namespace });
  if (result.pod === pod) return { ...result, object, objectPatch: [] };
  const prefix = path.map((k) => `/${k}`).join('');
  const objectPatch = result.patch.map((op) => ({ ...op, path: prefix + op.path }));
  return { ...result, object: replaceAt(object, path, result.pod), objectPatch };
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
