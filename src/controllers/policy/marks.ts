import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import { canonicalJson } from '../../inject/index.js';
import { applyObject, stepFailure, type StepFailure } from '../../kube/index.js';
import {
  currentMark,
  marksInPlace,
  renderNamespaceMarks,
  type ResolvedMarks,
} from '../../render/namespace-marks.js';
import { unmarkNamespace } from '../cleanup.js';

/** The outcome of syncing namespace marks: the failures, and the namespaces whose marks were repaired. */
export interface MarksOutcome {
  failures: StepFailure[];
  restored: string[];
}

/** Namespaces written at once. */
const BATCH = 8;

/**
 * The policies' marks on namespaces (label `sidecar.dev/policy`, annotation `sidecar.dev/revision`):
 * only our two keys are ever sent. A write of the mark last seen in place is a repair (see
 * WebhookConfigurations): remembered for this process only.
 */
export class NamespaceMarks {
  /** Namespace name → the mark last seen in place. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly kc: KubeConfig) {}

  /**
   * Marks for everything `policy` touches: namespaces it governs, and namespaces still marked for
   * it that it should not have (those get their rightful mark, or none).
   */
  async sync(
    namespaces: readonly V1Namespace[],
    resolved: ResolvedMarks,
    policy: string,
  ): Promise<MarksOutcome> {
    const todo: V1Namespace[] = [];
    for (const ns of namespaces) {
      const name = ns.metadata?.name ?? '';
      const desired = resolved.marks.get(name);
      if (desired?.policy !== policy && currentMark(ns).policy !== policy) continue;
      if (!marksInPlace(ns, desired)) todo.push(ns);
      else if (desired) this.seen.set(name, canonicalJson(desired));
    }
    const failed: StepFailure[] = [];
    const restored: string[] = [];
    for (let i = 0; i < todo.length; i += BATCH) {
      await Promise.all(
        todo.slice(i, i + BATCH).map(async (ns) => {
          const name = ns.metadata?.name ?? '';
          try {
            if (await this.write(ns, resolved.marks.get(name))) restored.push(name);
          } catch (err) {
            failed.push(stepFailure('namespace', { kind: 'Namespace', name }, err));
          }
        }),
      );
    }
    return {
      failures: failed.sort((a, b) => (a.object.name < b.object.name ? -1 : 1)),
      restored: restored.sort(),
    };
  }

  /**
   * Writes one namespace's mark (or removes it); true when that was a repair. Forced because these
   * two keys are the operator's by contract: a hand edit that took them over must not stop the
   * repair; no other field is in the request.
   */
  private async write(
    ns: V1Namespace,
    desired: { policy: string; revision: string } | undefined,
  ): Promise<boolean> {
    const name = ns.metadata?.name ?? '';
    const wanted = desired ? canonicalJson(desired) : undefined;
    const repair = wanted !== undefined && this.seen.get(name) === wanted;
    if (desired) await applyObject(this.kc, renderNamespaceMarks(name, desired), { force: true });
    else await unmarkNamespace(this.kc, ns);
    if (!repair) return false;
    this.seen.delete(name);
    return true;
  }
}
