import type { SidecarPolicy } from '../api/index.js';
import { compileTemplate, type CompileOptions, type CompiledTemplate } from '../inject/index.js';

export interface CompileOutcome {
  template?: CompiledTemplate;
  error?: string;
}

/**
 * Compiled templates by policy, recompiled only when the policy's spec changes (uid + generation):
 * every reconcile renders the ConfigMap from all policies, so this keeps that cheap.
 */
export class TemplateCache {
  private readonly entries = new Map<string, { key: string; outcome: CompileOutcome }>();

  /**
   * `compile`: what the API server supports (native sidecars, the sleep action) and the operator's own
   * init image; fixed for the process, so they need not be part of the cache key.
   */
  constructor(private readonly compile: CompileOptions) {}

  get(policy: SidecarPolicy): CompileOutcome {
    const name = policy.metadata?.name ?? '';
    const key = `${policy.metadata?.uid ?? ''}/${policy.metadata?.generation ?? ''}`;
    const hit = this.entries.get(name);
    if (hit && hit.key === key) return hit.outcome;
    let outcome: CompileOutcome;
    try {
      outcome = { template: compileTemplate(policy, this.compile) };
    } catch (err) {
      outcome = { error: `policy does not compile: ${(err as Error).message}` };
    }
    this.entries.set(name, { key, outcome });
    return outcome;
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}
