import {
  decideInjection,
  parseStatus,
  sidecarPresence,
  type CompiledTemplate,
  type Pod,
} from '../inject/index.js';
import { pass, warn, type CheckResult } from './check.js';
import type { SidecarPolicy } from '../api/index.js';
import type { DoctorInputs, NamespacePods } from './inputs.js';
import { carriesOtherMesh, restartCommand } from './mesh-checks.js';

/** How the pods of one governed namespace stand against the template of the policy governing it. */
export interface PodSorting {
  current: Pod[];
  outdated: Pod[];
  /** Would be injected if created now: they missed the webhook. */
  missed: Pod[];
  hostNetwork: Pod[];
  optedOut: Pod[];
  /** Not selected by the podSelector, run as the proxy's user, …: not the webhook's fault. */
  notSelected: Pod[];
}

const nameOf = (p: Pod): string => p.metadata?.name ?? '';

/** Pods that run (or will): not being deleted, not finished. */
function live(p: Pod): boolean {
  const phase = (p as { status?: { phase?: string } }).status?.phase;
  return p.metadata?.deletionTimestamp === undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

export function sortPods(
  group: NamespacePods,
  template: CompiledTemplate,
  inputs: Pick<DoctorInputs, 'operatorNamespace'>,
  namespaceLabels: Record<string, string>,
): PodSorting {
  const out: PodSorting = {
    current: [],
    outdated: [],
    missed: [],
    hostNetwork: [],
    optedOut: [],
    notSelected: [],
  };
  for (const pod of group.pods.filter(live)) {
    // Another mesh's pods are the mesh checks' (meshed-pods, two-meshes).
    if (carriesOtherMesh(pod)) continue;
    if (sidecarPresence(pod.spec, template).state === 'complete') {
      const status = parseStatus(pod.metadata?.annotations);
      const current = status?.policy === template.policy && status.revision === template.revision;
      (current ? out.current : out.outdated).push(pod);
      continue;
    }
    const d = decideInjection(pod, template, {
      namespace: group.namespace,
      operatorNamespace: inputs.operatorNamespace ?? '',
      namespaceLabels,
    });
    if (d.inject) out.missed.push(pod);
    else if (d.reason === 'HostNetwork') out.hostNetwork.push(pod);
    else if (d.reason === 'OptedOut') out.optedOut.push(pod);
    else out.notSelected.push(pod);
  }
  return out;
}

function listed(pods: Pod[]): string {
  const names = pods.map(nameOf).sort();
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}

/** The exact commands that re-create these pods through their owners, at most ten. */
function restarts(pods: Pod[]): string {
  const commands = [...new Set(pods.map(restartCommand))].sort();
  const more = commands.length > 10 ? `; and ${commands.length - 10} more` : '';
  return `${commands.slice(0, 10).join('; ')}${more}`;
}

/** What is skipped by design, said so that it is not taken for a miss. */
function skipped(s: PodSorting): string {
  const parts = [
    ...(s.hostNetwork.length > 0
      ? [`${s.hostNetwork.length} on the host network (${listed(s.hostNetwork)}), never injected by design`]
      : []),
    ...(s.optedOut.length > 0 ? [`${s.optedOut.length} opted out (${listed(s.optedOut)})`] : []),
    ...(s.notSelected.length > 0
      ? [`${s.notSelected.length} not selected by the policy (${listed(s.notSelected)})`]
      : []),
  ];
  return parts.length > 0 ? `; skipped: ${parts.join(', ')}` : '';
}

/**
 * The pods of each governed namespace doctor listed: those that missed injection (they would get the
 * sidecar if created now) and those with an outdated one, each with the command that re-creates them;
 * pods on the host network and opted-out pods are named as skipped by design, never as misses.
 */
export function checkGovernedPods(inputs: DoctorInputs): CheckResult[] {
  const out: CheckResult[] = [];
  for (const group of inputs.governedPods ?? []) {
    const template = inputs.templates?.templates.get(group.policy);
    if (!template) continue;
    const labels = inputs.mesh?.governed.get(group.namespace)?.object.metadata?.labels ?? {};
    const s = sortPods(group, template, inputs, labels);
    const ns = group.namespace;
    const at = `${template.policy} revision ${template.revision}`;
    if (s.missed.length > 0)
      out.push(
        warn(
          'SO166',
          `pods-missed:${ns}`,
          `${s.missed.length} pod(s) in ${ns} have no sidecar but would get one from ${template.policy} if created now (${listed(s.missed)}): created before the namespace was governed, or while the webhook was unreachable with failurePolicy Ignore${skipped(s)}`,
          restarts(s.missed),
        ),
      );
    if (s.outdated.length > 0)
      out.push(
        warn(
          'SO163',
          `pods-outdated:${ns}`,
          `${s.outdated.length} pod(s) in ${ns} carry a sidecar older than ${at} (${listed(s.outdated)})`,
          `${restarts(s.outdated)} (or set spec.rollout.strategy: Restart on the policy)`,
        ),
      );
    if (s.missed.length === 0 && s.outdated.length === 0)
      out.push(pass(`pods:${ns}`, `${s.current.length} pod(s) injected at ${at}${skipped(s)}`));
  }
  return out;
}

/** Whether every namespace the policy governs had its pods listed (then the pods checks say more than its counts). */
function podsListedFor(inputs: DoctorInputs, p: SidecarPolicy): boolean {
  if (inputs.governedPods === undefined) return false;
  const groups = inputs.governedPods.filter((g) => g.policy === p.metadata?.name);
  return groups.length >= (p.status?.namespaces ?? 0);
}

/**
 * A policy's count of pods without a sidecar, when its pods were not all listed (--namespace narrowed
 * them, too many namespaces, no right to list): the count alone cannot tell a miss from a pod on the
 * host network, which the operator's metadata-only count includes.
 */
export function checkUnlistedCounts(inputs: DoctorInputs): CheckResult[] {
  return inputs.policies
    .filter((p) => inputs.scope.includes(p.metadata?.name ?? '') && (p.status?.uninjectedPods ?? 0) > 0)
    .filter((p) => !podsListedFor(inputs, p))
    .map((p) =>
      warn(
        'SO146',
        `policy-pods:${p.metadata?.name ?? ''}`,
        `policy ${p.metadata?.name ?? ''} counts ${p.status?.uninjectedPods ?? 0} pod(s) without a sidecar in namespaces doctor did not list: missed injections (created while the webhook was unreachable, or before the namespace was governed), or pods on the host network, which are never injected`,
        'rerun doctor with --namespace <namespace> to have them told apart, with the command that restarts each',
      ),
    );
}
