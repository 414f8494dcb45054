import { withDefaults, type SidecarPolicySpec } from '../api/index.js';
import { compileSpec, type CompileOptions } from './compile.js';
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
  return compileSpec(policy.metadata?.name ?? '', withDefaults(policy.spec), opts);
}
