import type { V1ConfigMap } from '@kubernetes/client-node';
import { canonicalJson, type CompiledTemplate } from '../inject/index.js';
import { containsDesired } from './contains.js';

/** The ConfigMap (in the operator's namespace) holding one compiled template per policy. */
export const INJECTOR_CONFIGMAP = 'sidecar-injector';
/** Label on everything the operator creates, so its objects can be listed and cleaned up. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'sidecar-operator';

/**
 * Renders the injector ConfigMap: data key = policy name, value = the compiled template as JSON
 * (keys sorted by policy so the object is byte-stable and an unchanged set is never rewritten).
 */
export function renderInjectorConfigMap(
  namespace: string,
  templates: readonly CompiledTemplate[],
): V1ConfigMap {
  const data: Record<string, string> = {};
  for (const t of [...templates].sort((a, b) => a.policy.localeCompare(b.policy))) {
    data[t.policy] = JSON.stringify(t);
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: INJECTOR_CONFIGMAP, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    data,
  };
}

export interface ParsedTemplates {
  templates: Map<string, CompiledTemplate>;
  /** Entries that could not be read, by key, with the reason. */
  errors: { key: string; reason: string }[];
}

function isTemplate(v: unknown, key: string): v is CompiledTemplate {
  const t = v as Partial<CompiledTemplate> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    t.policy === key &&
    typeof t.revision === 'string' &&
    typeof t.proxyContainer === 'object' &&
    Array.isArray(t.volumes)
  );
}

/** Reads the templates back; a malformed entry is reported and left out, the others are kept. */
export function parseInjectorConfigMap(cm: Pick<V1ConfigMap, 'data'>): ParsedTemplates {
  const templates = new Map<string, CompiledTemplate>();
  const errors: ParsedTemplates['errors'] = [];
  for (const [key, raw] of Object.entries(cm.data ?? {})) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isTemplate(parsed, key)) templates.set(key, parsed);
      else errors.push({ key, reason: 'not a compiled template for this policy' });
    } catch (err) {
      errors.push({ key, reason: `invalid JSON: ${(err as Error).message}` });
    }
  }
  return { templates, errors };
}

/**
 * The ConfigMap every live policy implies: each policy's compiled template, or, for a policy that
 * no longer compiles, the entry it had in `current`, so the webhook goes on serving the last good
 * template. `compiled` maps a live policy's name to its template (undefined: does not compile).
 */
export function desiredInjectorConfigMap(
  namespace: string,
  current: V1ConfigMap | undefined,
  compiled: ReadonlyMap<string, CompiledTemplate | undefined>,
): V1ConfigMap {
  const previous = current ? parseInjectorConfigMap(current).templates : new Map<string, CompiledTemplate>();
  const list: CompiledTemplate[] = [];
  for (const [name, template] of compiled) {
    const t = template ?? previous.get(name);
    if (t) list.push(t);
  }
  return renderInjectorConfigMap(namespace, list);
}

/** Whether `current` already holds exactly the desired data and at least the desired labels. */
export function injectorConfigMapInPlace(current: V1ConfigMap | undefined, desired: V1ConfigMap): boolean {
  return (
    current !== undefined &&
    canonicalJson(current.data ?? {}) === canonicalJson(desired.data ?? {}) &&
    containsDesired(current.metadata?.labels, desired.metadata?.labels)
  );
}

/** Data keys of `applied` that `desired` does not have (added by someone else): apply keeps them. */
export function strangerKeys(applied: V1ConfigMap, desired: V1ConfigMap): string[] {
  return Object.keys(applied.data ?? {}).filter((k) => desired.data?.[k] === undefined);
}
