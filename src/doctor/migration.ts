import type { V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import { POLICY_LABEL, type SidecarPolicy } from '../api/index.js';
import type { Pod } from '../inject/index.js';
import { ISTIO_INJECTION_LABEL } from '../inject/istio-namespaces.js';
import { matchesSelector } from '../inject/selector.js';
import { resolveNamespaceMarks } from '../render/namespace-marks.js';
import {
  FOREIGN_NAMESPACE_LABELS,
  FOREIGN_WEBHOOK,
  meshOf,
  moveNamespace,
  restartCommand,
  selectByName,
} from './mesh-checks.js';

/**
 * `migrate`: what an Istio or Linkerd installation leaves that matters once our policies take over,
 * and the commands that move each piece, in order. Pure: `gatherMigration` reads the cluster.
 */
export interface MigrationInputs {
  policies: readonly SidecarPolicy[];
  /** Every namespace (or the one asked about). */
  namespaces: readonly V1Namespace[];
  /** Pods carrying another mesh's sidecar or init container. */
  meshedPods: readonly Pod[];
  /** Every MutatingWebhookConfiguration; other meshes' injectors are picked out here. */
  webhookConfigurations: readonly V1MutatingWebhookConfiguration[];
  /** The policy that takes the namespaces no policy governs yet (`--policy`). */
  target?: string;
  operatorNamespace?: string;
}

export interface NamespaceMove {
  namespace: string;
  /** The meshes that hold it: by its labels or by its pods' containers. */
  meshes: string[];
  /** What ties it to the other mesh, one phrase each. */
  because: string[];
  /** The policy that governs it now, if any. */
  policyNow?: string;
  /** The policy that governs it once the steps ran (computed, not assumed). */
  policyAfter?: string;
  /** Commands, in the order to run them. */
  steps: string[];
  notes: string[];
}

export interface InjectorLeft {
  configuration: string;
  webhooks: string[];
  /** Namespaces of the plan it is called for now, and after the steps. */
  selectsNow: string[];
  selectsAfter: string[];
  /** It selects pods by their labels too (Istio's `sidecar.istio.io/inject=true` webhook). */
  objectSelector: boolean;
  advice: string;
}

export interface MigrationPlan {
  namespaces: NamespaceMove[];
  injectors: InjectorLeft[];
  /** Why no plan could be made for some namespace (no policy to take it, an ambiguous choice). */
  problems: string[];
}

const LINKERD_INJECT = 'linkerd.io/inject';

function nameOf(o: { metadata?: { name?: string } }): string {
  return o.metadata?.name ?? '';
}

/** Why the namespace belongs to another mesh by its own labels (not its pods). */
function labelledFor(ns: V1Namespace): { mesh: string; why: string }[] {
  const labels = ns.metadata?.labels ?? {};
  const out: { mesh: string; why: string }[] = [];
  for (const key of FOREIGN_NAMESPACE_LABELS) {
    const v = labels[key];
    if (v === undefined || (key === ISTIO_INJECTION_LABEL && v === 'disabled')) continue;
    out.push({ mesh: 'Istio', why: `label ${key}=${v}` });
  }
  const linkerd = ns.metadata?.annotations?.[LINKERD_INJECT];
  if (linkerd !== undefined && linkerd !== 'disabled')
    out.push({ mesh: 'Linkerd', why: `annotation ${LINKERD_INJECT}=${linkerd}` });
  return out;
}

/** The namespace as it will be once the other mesh's labels are gone and `add` is set. */
function relabelled(ns: V1Namespace, add: Record<string, string>): V1Namespace {
  const labels = { ...(ns.metadata?.labels ?? {}) };
  for (const k of FOREIGN_NAMESPACE_LABELS) delete labels[k];
  const annotations = { ...(ns.metadata?.annotations ?? {}) };
  delete annotations[LINKERD_INJECT];
  return { ...ns, metadata: { ...ns.metadata, labels: { ...labels, ...add }, annotations } };
}

/** Labels that make the policy's namespaceSelector select a namespace, when it is only matchLabels. */
function selectorLabels(policy: SidecarPolicy): Record<string, string> | undefined {
  const sel = policy.spec.selector.namespaceSelector;
  if (!sel || (sel.matchExpressions ?? []).length > 0) return undefined;
  const labels = sel.matchLabels ?? {};
  return Object.keys(labels).length > 0 ? labels : undefined;
}

/** The policy that takes namespaces no policy governs: --policy, else the only candidate. */
function chooseTarget(
  inputs: MigrationInputs,
): { policy: SidecarPolicy; problem?: undefined } | { policy?: undefined; problem: string } {
  const live = inputs.policies.filter((p) => p.metadata?.deletionTimestamp === undefined);
  if (inputs.target !== undefined) {
    const p = live.find((x) => nameOf(x) === inputs.target);
    return p
      ? { policy: p }
      : { problem: `no SidecarPolicy named ${inputs.target} (kubectl get sidecarpolicies)` };
  }
  if (live.length === 0)
    return {
      problem:
        'no SidecarPolicy exists to take them: apply one first (examples/ has a few; `compatibility.istio: true` keeps Istio annotations working)',
    };
  const istio = live.filter((p) => p.spec.compatibility?.istio === true);
  if (istio.length === 1) return { policy: istio[0]! };
  if (live.length === 1) return { policy: live[0]! };
  return {
    problem: `${live.length} policies could take them (${live.map(nameOf).sort().join(', ')}): choose one with --policy`,
  };
}

interface Draft {
  ns: V1Namespace;
  after: V1Namespace;
  /** The policy whose `selector.namespaces` the steps add this namespace to, when they do. */
  addedTo?: string;
  steps: string[];
}

/** Steps that make `target` govern a namespace no policy governs. */
function takeOver(ns: V1Namespace, target: SidecarPolicy): Draft {
  const name = nameOf(ns);
  const labels = selectorLabels(target);
  const off = moveNamespace(ns, undefined);
  if (labels) {
    const set = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return {
      ns,
      after: relabelled(ns, labels),
      steps: [`kubectl label namespace ${name} ${set} --overwrite`, ...off],
    };
  }
  return {
    ns,
    after: relabelled(ns, {}),
    addedTo: nameOf(target),
    steps: [selectByName(target, name), ...off],
  };
}

/** Who governs each namespace once every draft ran. */
function governorsAfter(inputs: MigrationInputs, drafts: readonly Draft[]): Map<string, string> {
  const policies = inputs.policies.map((p): SidecarPolicy => {
    const added = drafts.filter((d) => d.addedTo === nameOf(p)).map((d) => nameOf(d.ns));
    if (added.length === 0) return p;
    const namespaces = [...new Set([...(p.spec.selector.namespaces ?? []), ...added])];
    return { ...p, spec: { ...p.spec, selector: { ...p.spec.selector, namespaces } } };
  });
  const afterNs = new Map(drafts.map((d) => [nameOf(d.ns), d.after]));
  const namespaces = inputs.namespaces.map((n) => afterNs.get(nameOf(n)) ?? n);
  return governors(policies, namespaces, inputs.operatorNamespace);
}

function governors(
  policies: readonly SidecarPolicy[],
  namespaces: readonly V1Namespace[],
  operatorNamespace = '',
): Map<string, string> {
  const resolved = resolveNamespaceMarks(policies, namespaces, { operatorNamespace, revisions: new Map() });
  const out = new Map<string, string>();
  for (const ns of namespaces) {
    const p = resolved.marks.get(nameOf(ns))?.policy;
    if (p !== undefined) out.set(nameOf(ns), p);
  }
  return out;
}

function injectorsLeft(inputs: MigrationInputs, drafts: readonly Draft[]): InjectorLeft[] {
  const out: InjectorLeft[] = [];
  const selects = (hook: V1MutatingWebhookConfiguration['webhooks'], pick: (d: Draft) => V1Namespace) =>
    drafts
      .filter((d) =>
        (hook ?? []).some((w) => matchesSelector(w.namespaceSelector, pick(d).metadata?.labels ?? {})),
      )
      .map((d) => nameOf(d.ns))
      .sort();
  for (const mwc of inputs.webhookConfigurations) {
    const hooks = (mwc.webhooks ?? []).filter((w) => FOREIGN_WEBHOOK.test(w.name));
    if (hooks.length === 0) continue;
    const config = nameOf(mwc);
    const objectSelector = hooks.some(
      (w) =>
        Object.keys(w.objectSelector?.matchLabels ?? {}).length > 0 ||
        (w.objectSelector?.matchExpressions ?? []).length > 0,
    );
    const selectsNow = selects(hooks, (d) => d.ns);
    const selectsAfter = selects(hooks, (d) => d.after);
    const advice =
      selectsAfter.length === 0
        ? `once nothing else uses it: kubectl delete mutatingwebhookconfiguration ${config}`
        : `still called for new pods in ${selectsAfter.join(', ')}` +
          (objectSelector ? ' that carry the labels its objectSelector matches' : '') +
          `: the two injectors race; remove those labels from the workloads, or delete it: kubectl delete mutatingwebhookconfiguration ${config}`;
    out.push({
      configuration: config,
      webhooks: hooks.map((w) => w.name),
      selectsNow,
      selectsAfter,
      objectSelector,
      advice,
    });
  }
  return out.sort((a, b) => (a.configuration < b.configuration ? -1 : 1));
}

/** The plan: each namespace another mesh holds, what ties it there, and the commands that move it. */
export function planMigration(inputs: MigrationInputs): MigrationPlan {
  const now = governors(inputs.policies, inputs.namespaces, inputs.operatorNamespace);
  const podsByNs = new Map<string, Pod[]>();
  for (const pod of inputs.meshedPods) {
    const ns = pod.metadata?.namespace ?? '';
    podsByNs.set(ns, [...(podsByNs.get(ns) ?? []), pod]);
  }
  const target = chooseTarget(inputs);
  const problems: string[] = [];
  const drafts: Draft[] = [];
  const held = [...inputs.namespaces]
    .filter((ns) => labelledFor(ns).length > 0 || podsByNs.has(nameOf(ns)))
    .sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  const ungoverned: string[] = [];
  for (const ns of held) {
    const name = nameOf(ns);
    const governor = now.get(name) ?? ns.metadata?.labels?.[POLICY_LABEL];
    const policy = inputs.policies.find((p) => nameOf(p) === governor);
    if (policy) {
      const steps = moveNamespace(ns, policy);
      // A namespace held only by Istio's label is first added to the policy's list by name.
      const byName = steps.some((step) => step.startsWith('kubectl patch sidecarpolicy'));
      drafts.push({ ns, after: relabelled(ns, {}), steps, ...(byName ? { addedTo: nameOf(policy) } : {}) });
    } else if (target.policy) {
      drafts.push(takeOver(ns, target.policy));
    } else {
      ungoverned.push(name);
      drafts.push({ ns, after: ns, steps: [] });
    }
  }
  if (ungoverned.length > 0 && target.problem)
    problems.push(`no policy governs ${ungoverned.join(', ')}; ${target.problem}`);
  const after = governorsAfter(inputs, drafts);
  const namespaces = drafts.map((d): NamespaceMove => {
    const name = nameOf(d.ns);
    const pods = podsByNs.get(name) ?? [];
    const tied = labelledFor(d.ns);
    const meshes = [...new Set([...tied.map((t) => t.mesh), ...pods.map((p) => meshOf(p) ?? '')])]
      .filter(Boolean)
      .sort();
    const because = tied.map((t) => t.why);
    if (pods.length > 0)
      because.push(
        `${pods.length} pod${pods.length === 1 ? '' : 's'} carr${pods.length === 1 ? 'ies' : 'y'} ${meshes.join(' and ')}'s sidecar`,
      );
    const notes: string[] = [];
    const policyAfter = after.get(name);
    const intended = now.get(name) ?? d.addedTo ?? (target.policy ? nameOf(target.policy) : undefined);
    const steps = [...d.steps];
    if (d.steps.length > 0 || pods.length > 0) {
      if (policyAfter === undefined)
        notes.push('after these steps no policy governs it: new pods get no sidecar at all');
      else if (intended !== undefined && policyAfter !== intended)
        notes.push(
          `after these steps ${policyAfter} governs it, not ${intended} (a policy of higher precedence selects it too)`,
        );
      steps.push(...[...new Set(pods.map(restartCommand))].sort());
      if (policyAfter !== undefined) steps.push(`sidecar-operator doctor -n ${name}`);
    }
    return {
      namespace: name,
      meshes,
      because,
      ...(now.get(name) !== undefined ? { policyNow: now.get(name)! } : {}),
      ...(policyAfter !== undefined ? { policyAfter } : {}),
      steps,
      notes,
    };
  });
  return { namespaces, injectors: injectorsLeft(inputs, drafts), problems };
}

/** Whether the plan leaves anything to do (the command's exit status). */
export function planHasWork(plan: MigrationPlan): boolean {
  return (
    plan.problems.length > 0 ||
    plan.namespaces.some((n) => n.steps.length > 0) ||
    plan.injectors.some((i) => i.selectsNow.length > 0)
  );
}

/** The plan for a terminal. */
export function formatPlan(plan: MigrationPlan): string {
  const lines: string[] = [];
  if (plan.namespaces.length === 0 && plan.injectors.length === 0 && plan.problems.length === 0)
    return 'Nothing to move: no namespace is labelled for Istio or Linkerd, no pod carries their sidecar, and no other injector is installed.\n';
  for (const n of plan.namespaces) {
    const gov = n.policyNow ? `governed by ${n.policyNow}` : 'governed by no policy';
    const to = n.policyAfter && n.policyAfter !== n.policyNow ? ` → ${n.policyAfter}` : '';
    lines.push(
      `namespace ${n.namespace} (${n.meshes.join(', ') || 'no mesh'}: ${n.because.join('; ')}; ${gov}${to})`,
    );
    if (n.steps.length === 0) lines.push('  nothing to run');
    n.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s}`));
    for (const note of n.notes) lines.push(`  note: ${note}`);
  }
  if (plan.injectors.length > 0) {
    lines.push('', 'other injectors:');
    for (const i of plan.injectors) {
      const now =
        i.selectsNow.length > 0 ? `called for ${i.selectsNow.join(', ')} now` : 'called for none of them now';
      lines.push(
        `  MutatingWebhookConfiguration ${i.configuration} (${i.webhooks.join(', ')}): ${now}; ${i.advice}`,
      );
    }
  }
  for (const p of plan.problems) lines.push('', `problem: ${p}`);
  return `${lines.join('\n')}\n`;
}
