import { specDefaulting, type DefaultingNode } from '../api/generated/defaults.js';
import type { SidecarPolicySpec } from '../api/generated/sidecarpolicy.js';
import { compileSpec, type CompileOptions } from './compile.js';
import type { DefaultedSpec } from './policy-spec.js';
import type { CompiledTemplate } from './template.js';

/** A SidecarPolicy as read from the API server or a file: only its name and spec matter here. */
export interface PolicyInput {
  metadata?: { name?: string };
  spec: SidecarPolicySpec;
}

/**
 * Compile a policy as stored (defaults possibly not yet applied, e.g. read from a file) into the
 * template the webhook serves. Same policy and options → same template and revision.
 */
export function compileTemplate(policy: PolicyInput, opts: CompileOptions): CompiledTemplate {
  const spec = applyDefaults(policy.spec, specDefaulting) as DefaultedSpec;
  return compileSpec(policy.metadata?.name ?? '', spec, opts);
}

function applyDefaults(value: unknown, node: DefaultingNode): unknown {
  let v = value === undefined ? structuredClone(node.default) : value;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return node.items ? v.map((x) => applyDefaults(x, node.items as DefaultingNode)) : v;
  v = { ...(v as Record<string, unknown>) };
  const obj = v as Record<string, unknown>;
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const r = applyDefaults(obj[key], child);
    if (r !== undefined) obj[key] = r;
  }
  return obj;
}
