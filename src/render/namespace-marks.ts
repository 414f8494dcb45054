import type { V1Namespace } from '@kubernetes/client-node';
import {
  INJECTION_DISABLED,
  INJECTION_LABEL,
  isPolicyLabelValue,
  NEVER_INJECTED_NAMESPACES,
  POLICY_LABEL,
  REVISION_ANNOTATION,
  type SidecarPolicy,
} from '../api/index.js';
import { ISTIO_DEFAULT_REVISION, istioNamespaceState } from '../inject/istio-namespaces.js';
import { matchesSelector } from '../inject/selector.js';

/** The marks one namespace should carry. */
export interface NamespaceMark {
  policy: string;
  revision: string;
}

/** A namespace a policy selects but does not govern, and who does. */
export interface NamespaceConflict {
  namespace: string;
  winner: string;
}

export interface ResolvedMarks {
  /** Namespace → the mark it should carry; absent = no mark. */
  marks: Map<string, NamespaceMark>;
  /** Policy → the namespaces it governs, sorted. */
  governed: Map<string, string[]>;
  /** Losing policy → the namespaces it lost, sorted by namespace. */
  conflicts: Map<string, NamespaceConflict[]>;
}

export interface MarkOptions {
  operatorNamespace: string;
  /** Policy name → revision to write in the annotation. */
  revisions: ReadonlyMap<string, string>;
}

/**
 * Whether `policy` selects `ns` by name or by labels (never-injected rules are applied apart); with
 * `compatibility.istio`, Istio's namespace labels too: istio-injection=disabled keeps the policy away,
 * and with istioNamespaceLabels Istio's injection labels select.
 */
export function selectsNamespace(policy: SidecarPolicy, ns: V1Namespace): boolean {
  const name = ns.metadata?.name ?? '';
  const sel = policy.spec.selector;
  const compat = policy.spec.compatibility;
  if (compat?.istio) {
    const state = istioNamespaceState(ns.metadata?.labels ?? {}, {
      namespaceLabels: compat.istioNamespaceLabels ?? false,
      revision: compat.istioRevision ?? ISTIO_DEFAULT_REVISION,
    });
    if (state !== undefined) return state === 'selected';
  }
  if (sel.namespaces?.includes(name)) return true;
  return (
    sel.namespaceSelector !== undefined && matchesSelector(sel.namespaceSelector, ns.metadata?.labels ?? {})
  );
}

/** Namespaces no policy may govern: system ones, our own, opted-out, and those being deleted. */
export function isEligible(ns: V1Namespace, operatorNamespace: string): boolean {
  const name = ns.metadata?.name ?? '';
  if (NEVER_INJECTED_NAMESPACES.includes(name) || name === operatorNamespace) return false;
  if (ns.metadata?.labels?.[INJECTION_LABEL] === INJECTION_DISABLED) return false;
  return ns.metadata?.deletionTimestamp === undefined;
}

function time(p: SidecarPolicy): number {
  const t = p.metadata?.creationTimestamp;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}

/** Precedence: higher priority first, then the older policy, then the name (total and stable). */
export function comparePrecedence(a: SidecarPolicy, b: SidecarPolicy): number {
  const pa = a.spec.priority ?? 0;
  const pb = b.spec.priority ?? 0;
  if (pa !== pb) return pb - pa;
  const ta = time(a);
  const tb = time(b);
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * Which policy governs each namespace. Policies being deleted take part in nothing, nor do policies
 * whose name no namespace label can carry (stored before the CRD refused such names): marking a
 * namespace for one would fail, and keep the namespace from the policy that should govern it.
 * Deterministic: the same policies and namespaces give the same answer in any order.
 */
export function resolveNamespaceMarks(
  policies: readonly SidecarPolicy[],
  namespaces: readonly V1Namespace[],
  opts: MarkOptions,
): ResolvedMarks {
  const live = policies
    .filter((p) => p.metadata?.deletionTimestamp === undefined && isPolicyLabelValue(p.metadata?.name ?? ''))
    .sort(comparePrecedence);
  const marks = new Map<string, NamespaceMark>();
  const governed = new Map<string, string[]>(live.map((p) => [p.metadata?.name ?? '', []]));
  const conflicts = new Map<string, NamespaceConflict[]>();
  const sorted = [...namespaces].sort((a, b) =>
    (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1,
  );
  for (const ns of sorted) {
    if (!isEligible(ns, opts.operatorNamespace)) continue;
    const name = ns.metadata?.name ?? '';
    const selecting = live.filter((p) => selectsNamespace(p, ns));
    const [winner, ...losers] = selecting;
    if (!winner) continue;
    const w = winner.metadata?.name ?? '';
    marks.set(name, { policy: w, revision: opts.revisions.get(w) ?? '' });
    governed.get(w)?.push(name);
    for (const l of losers) {
      const ln = l.metadata?.name ?? '';
      conflicts.set(ln, [...(conflicts.get(ln) ?? []), { namespace: name, winner: w }]);
    }
  }
  return { marks, governed, conflicts };
}

/** The marks a namespace carries now (our label and annotation only). */
export function currentMark(ns: V1Namespace): Partial<NamespaceMark> {
  return {
    policy: ns.metadata?.labels?.[POLICY_LABEL],
    revision: ns.metadata?.annotations?.[REVISION_ANNOTATION],
  };
}

/**
 * The server-side apply body for a namespace's marks: only our label and annotation, so applying it
 * under our field manager never touches anyone else's fields, and applying it without a mark removes
 * exactly ours.
 */
export function renderNamespaceMarks(name: string, mark: NamespaceMark | undefined): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: mark
      ? {
          name,
          labels: { [POLICY_LABEL]: mark.policy },
          ...(mark.revision ? { annotations: { [REVISION_ANNOTATION]: mark.revision } } : {}),
        }
      : { name },
  };
}

/** True when the namespace already carries exactly the desired marks. */
export function marksInPlace(ns: V1Namespace, mark: NamespaceMark | undefined): boolean {
  const cur = currentMark(ns);
  if (!mark) return cur.policy === undefined && cur.revision === undefined;
  return cur.policy === mark.policy && (cur.revision ?? '') === mark.revision;
}
