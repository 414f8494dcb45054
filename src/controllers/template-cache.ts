import { Reason, type SidecarPolicy } from '../api/index.js';
import { compileTemplate, type CompileOptions, type CompiledTemplate } from '../inject/index.js';
import { templateSize, templateTooLargeMessage } from '../render/injector-configmap.js';

export interface CompileOutcome {
  template?: CompiledTemplate;
  error?: string;
  /** Why there is no template: the policy does not compile, or its template is over the size limit. */
  reason?: typeof Reason.InvalidPolicy | typeof Reason.TemplateTooLarge;
}

/** Compiles a policy and checks the size of what its ConfigMap would hold. */
function compileChecked(policy: SidecarPolicy, options: CompileOptions): CompileOutcome {
  let template: CompiledTemplate;
  try {
    template = compileTemplate(policy, options);
  } catch (err) {
    return { error: `policy does not compile: ${(err as Error).message}`, reason: Reason.InvalidPolicy };
  }
  const size = templateSize(template);
  if (size.tooLarge) return { error: templateTooLargeMessage(size.bytes), reason: Reason.TemplateTooLarge };
  return { template };
}

/**
 * Compiled templates by policy, recompiled only when the policy's spec changes (uid + generation):
 * reconciles read a policy's template often (its own ConfigMap, the revisions of every policy's
 * namespace marks), so this keeps that cheap.
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
    const outcome = compileChecked(policy, this.compile);
    this.entries.set(name, { key, outcome });
    return outcome;
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}
