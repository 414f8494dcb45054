import type { V1MutatingWebhook, V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import type { SidecarPolicy } from '../api/index.js';
import { findProxy, type Pod } from '../inject/index.js';
import { FOREIGN_MESH_CONTAINERS } from '../inject/meshed.js';
import { matchesSelector } from '../inject/selector.js';
import { fail, pass, warn, type CheckResult } from './check.js';

/**
 * What another mesh leaves in the namespaces our policies govern: pods carrying its sidecar (they
 * keep it until they are re-created with its injection off), and its injector's webhooks selecting
 * the same namespaces (two injectors race for each new pod: whichever the API server calls first
 * wins, and the other skips the pod as AlreadyMeshed).
 */
export interface MeshInputs {
  /** Namespace → the policy that governs it (or should: by the policies' selection). */
  governed: Map<string, { policy: string; object: V1Namespace }>;
  /** Pods of the governed namespaces that carry another mesh's container. */
  meshedPods: Pod[];
  /** Webhook configurations of other meshes' injectors. */
  foreignWebhooks: V1MutatingWebhookConfiguration[];
  /** Governed namespaces whose pods were not listed (a bound keeps doctor cheap on big clusters). */
  namespacesNotListed?: number;
  /** Why the picture is incomplete (e.g. no permission to list webhook configurations). */
  error?: string;
}

/** Other meshes' injector webhooks, by the name of the webhook (not of its configuration). */
export const FOREIGN_WEBHOOK =
  /(^|\.)sidecar-injector\.istio\.io$|(^|\.)linkerd-proxy-injector\.linkerd\.io$/;

/** Whether the pod carries another mesh's container. */
export function carriesOtherMesh(pod: Pod): boolean {
  return meshOf(pod) !== undefined;
}

export function isForeignInjector(mwc: V1MutatingWebhookConfiguration): boolean {
  return (mwc.webhooks ?? []).some((w) => FOREIGN_WEBHOOK.test(w.name));
}

/** The mesh whose container the pod carries (Istio, Linkerd), if any. */
export function meshOf(pod: Pod): string | undefined {
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  const found = names.find((n) => Object.hasOwn(FOREIGN_MESH_CONTAINERS, n));
  return found === undefined ? undefined : FOREIGN_MESH_CONTAINERS[found];
}

/** The command that re-creates the pod through its owner, as `kubectl rollout restart` does. */
export function restartCommand(pod: Pod): string {
  const meta = pod.metadata ?? {};
  const ns = meta.namespace ?? 'default';
  const owner = (meta.ownerReferences as { kind?: string; name?: string }[] | undefined)?.[0];
  const hash = meta.labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && owner.name && hash && owner.name.endsWith(`-${hash}`))
    return `kubectl -n ${ns} rollout restart deployment/${owner.name.slice(0, -hash.length - 1)}`;
  if (owner?.kind === 'StatefulSet' || owner?.kind === 'DaemonSet')
    return `kubectl -n ${ns} rollout restart ${owner.kind.toLowerCase()}/${owner.name}`;
  return `kubectl -n ${ns} delete pod ${meta.name}`;
}

/** Labels that make Istio's or Linkerd's injector select a namespace, and how to remove them. */
export const FOREIGN_NAMESPACE_LABELS = ['istio-injection', 'istio.io/rev'];

export function unlabel(ns: V1Namespace): string | undefined {
  const labels = ns.metadata?.labels ?? {};
  const keys = FOREIGN_NAMESPACE_LABELS.filter((k) => k in labels);
  const note = ns.metadata?.annotations?.['linkerd.io/inject'];
  const name = ns.metadata?.name ?? '';
  const parts = [
    ...(keys.length > 0 ? [`kubectl label namespace ${name} ${keys.map((k) => `${k}-`).join(' ')}`] : []),
    ...(note !== undefined ? [`kubectl annotate namespace ${name} linkerd.io/inject-`] : []),
  ];
  return parts.length > 0 ? parts.join(' && ') : undefined;
}

/**
 * Whether the policy keeps selecting the namespace once Istio's labels are gone: it may select it
 * only by those labels (compatibility.istioNamespaceLabels).
 */
function selectedOnlyByIstio(policy: SidecarPolicy | undefined, ns: V1Namespace): boolean {
  if (!policy?.spec.compatibility?.istioNamespaceLabels) return false;
  const sel = policy.spec.selector;
  const name = ns.metadata?.name ?? '';
  const labels = ns.metadata?.labels ?? {};
  return (
    !(sel.namespaces ?? []).includes(name) &&
    !(sel.namespaceSelector && matchesSelector(sel.namespaceSelector, labels))
  );
}

/** The command that makes the policy select the namespace by name. */
export function selectByName(policy: SidecarPolicy, ns: string): string {
  const p = policy.metadata?.name ?? '';
  if (policy.spec.selector.namespaces === undefined)
    return `kubectl patch sidecarpolicy ${p} --type=merge -p '{"spec":{"selector":{"namespaces":["${ns}"]}}}'`;
  return `kubectl patch sidecarpolicy ${p} --type=json -p '[{"op":"add","path":"/spec/selector/namespaces/-","value":"${ns}"}]'`;
}

/** How to take one namespace away from the other injector and keep it with ours. */
export function moveNamespace(ns: V1Namespace, policy: SidecarPolicy | undefined): string[] {
  const name = ns.metadata?.name ?? '';
  const steps: string[] = [];
  if (policy && selectedOnlyByIstio(policy, ns)) steps.push(selectByName(policy, name));
  const off = unlabel(ns);
  if (off) steps.push(off);
  return steps;
}

/** The namespaces a foreign webhook would be called for (its namespaceSelector; absent = all). */
export function selectedBy(hook: V1MutatingWebhook, governed: MeshInputs['governed']): string[] {
  return [...governed]
    .filter(([, g]) => matchesSelector(hook.namespaceSelector as never, g.object.metadata?.labels ?? {}))
    .map(([ns]) => ns)
    .sort();
}

function webhookChecks(mesh: MeshInputs, policies: readonly SidecarPolicy[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const mwc of mesh.foreignWebhooks) {
    const config = mwc.metadata?.name ?? '';
    for (const hook of (mwc.webhooks ?? []).filter((w) => FOREIGN_WEBHOOK.test(w.name))) {
      const overlap = selectedBy(hook, mesh.governed);
      if (overlap.length === 0) continue;
      const by = [...new Set(overlap.map((ns) => mesh.governed.get(ns)!.policy))].sort();
      const objectSel = hook.objectSelector?.matchLabels || hook.objectSelector?.matchExpressions?.length;
      const steps = overlap.flatMap((ns) => {
        const g = mesh.governed.get(ns)!;
        return moveNamespace(
          g.object,
          policies.find((p) => p.metadata?.name === g.policy),
        );
      });
      out.push(
        warn(
          'SO181',
          `mesh-webhook:${config}/${hook.name}`,
          `another mesh's injector (MutatingWebhookConfiguration ${config}, webhook ${hook.name}) is called for ` +
            `namespace${overlap.length > 1 ? 's' : ''} ${overlap.join(', ')}${objectSel ? ' (for the pods its objectSelector matches)' : ''}, ` +
            `which polic${by.length > 1 ? 'ies' : 'y'} ${by.join(', ')} govern${by.length > 1 ? '' : 's'}: ` +
            'two injectors race for each new pod, and whichever the API server calls first decides its mesh',
          steps.length > 0
            ? steps.join('; ')
            : `once no namespace needs it: kubectl delete mutatingwebhookconfiguration ${config}`,
        ),
      );
    }
  }
  return out;
}

/**
 * Pods carrying our sidecar and another mesh's: two proxies capture the same traffic (one injector
 * ran before the other, or the pod was edited). Each is named, with the command that re-creates it.
 */
function twoMeshChecks(mesh: MeshInputs): CheckResult[] {
  const both = mesh.meshedPods.filter((p) => findProxy(p.spec) !== undefined);
  const byNs = new Map<string, Pod[]>();
  for (const pod of both) {
    const ns = pod.metadata?.namespace ?? '';
    byNs.set(ns, [...(byNs.get(ns) ?? []), pod]);
  }
  return [...byNs]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ns, pods]) => {
      const meshes = [...new Set(pods.map(meshOf))].join(' and ');
      const names = pods.map((p) => p.metadata?.name ?? '').sort();
      const off = mesh.governed.has(ns) ? unlabel(mesh.governed.get(ns)!.object) : undefined;
      const commands = [...new Set(pods.map(restartCommand))].sort().slice(0, 10);
      return fail(
        'SO183',
        `two-meshes:${ns}`,
        `${pods.length} pod(s) in ${ns} carry both our sidecar and ${meshes}'s (${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}): two proxies capture the same traffic`,
        `${off ? `first ${off}, then ` : ''}${commands.join('; ')}`,
      );
    });
}

function podChecks(mesh: MeshInputs): CheckResult[] {
  const byNs = new Map<string, Pod[]>();
  for (const pod of mesh.meshedPods.filter((p) => findProxy(p.spec) === undefined)) {
    const ns = pod.metadata?.namespace ?? '';
    byNs.set(ns, [...(byNs.get(ns) ?? []), pod]);
  }
  return [...byNs]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ns, pods]) => {
      const meshes = [...new Set(pods.map(meshOf))].join(' and ');
      const names = pods.map((p) => p.metadata?.name ?? '').sort();
      const shown =
        names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
      const policy = mesh.governed.get(ns)?.policy ?? '?';
      const commands = [...new Set(pods.map(restartCommand))].sort();
      const off = unlabel(mesh.governed.get(ns)!.object);
      return warn(
        'SO180',
        `meshed-pods:${ns}`,
        `${pods.length} pod${pods.length > 1 ? 's' : ''} in ${ns} (governed by ${policy}) carr${pods.length > 1 ? 'y' : 'ies'} ${meshes}'s sidecar: ${shown}; ` +
          'the webhook skips them (AlreadyMeshed) until they are re-created without it',
        `${off ? `first ${off}, then ` : ''}${commands.slice(0, 10).join('; ')}${commands.length > 10 ? `; and ${commands.length - 10} more` : ''}`,
      );
    });
}

/** Pods with another mesh's sidecar and other meshes' injectors, in what our policies govern. */
export function checkOtherMeshes(
  mesh: MeshInputs | undefined,
  policies: readonly SidecarPolicy[],
): CheckResult[] {
  if (!mesh) return [];
  const out = [...twoMeshChecks(mesh), ...podChecks(mesh), ...webhookChecks(mesh, policies)];
  if (mesh.error !== undefined)
    out.push(
      warn(
        'SO182',
        'other-meshes',
        `cannot tell what other meshes leave here: ${mesh.error}`,
        'run doctor with rights to list namespaces, pods and mutatingwebhookconfigurations',
      ),
    );
  if (out.length > 0) return out;
  const listed = mesh.namespacesNotListed
    ? ` (the pods of ${mesh.namespacesNotListed} namespaces not listed)`
    : '';
  return [
    pass(
      'other-meshes',
      `no pod in the ${mesh.governed.size} governed namespace${mesh.governed.size === 1 ? '' : 's'} carries another mesh's sidecar, and no other injector selects them${listed}`,
    ),
  ];
}
