import { specDefaulting, type DefaultingNode } from './generated/defaults.js';
import type { ResolvedSidecarPolicySpec, SidecarPolicySpec } from './generated/sidecarpolicy.js';

/**
 * Structural defaulting as the API server applies it: an absent (or null) field takes a copy of its
 * default, then defaulting continues inside it. Returns a new value; the input is not changed.
 */
export function applyDefaulting(value: unknown, node: DefaultingNode): unknown {
  if (Array.isArray(value)) {
    const items = node.items;
    return items ? value.map((v) => applyDefaulting(v, items)) : value.slice();
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const current = out[key] ?? structuredClone(child.default);
    if (current !== undefined && current !== null) out[key] = applyDefaulting(current, child);
  }
  const values = node.additionalProperties;
  if (values) {
    for (const [key, v] of Object.entries(out)) out[key] = applyDefaulting(v, values);
  }
  return out;
}

/**
 * The spec with every schema default filled in, exactly as the API server would store it. Specs read
 * from the API server are already defaulted; specs from files (offline injection) are not.
 */
export function withDefaults(spec: SidecarPolicySpec): ResolvedSidecarPolicySpec {
  return applyDefaulting(spec, specDefaulting) as ResolvedSidecarPolicySpec;
}
