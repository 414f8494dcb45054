import type { Container, PodSpec } from './k8s-types.js';
import { RESERVED_CONTAINER_NAMES } from './present.js';
import type { InterceptionValues } from './template.js';

interface RunAs {
  runAsUser?: number;
  runAsGroup?: number;
}

const runAs = (v: unknown): RunAs => (typeof v === 'object' && v !== null ? v : {});

function clash(c: Container, pod: RunAs, values: InterceptionValues, kind: string): string | undefined {
  const own = runAs(c.securityContext);
  const checks: [number | undefined, number | undefined, number, string][] = [
    [own.runAsUser, pod.runAsUser, values.proxyUID, 'UID'],
    [own.runAsGroup, pod.runAsGroup, values.proxyGID, 'GID'],
  ];
  for (const [mine, inherited, proxy, what] of checks) {
    const id = mine ?? inherited;
    if (id !== proxy) continue;
    const from = mine === undefined ? ' (from the pod’s securityContext)' : '';
    return `${kind} ${c.name} runs as ${what} ${id}${from}`;
  }
  return undefined;
}

/**
 * The first application container that runs as the proxy's UID or GID, described, or undefined.
 * The capture rules let the proxy's own traffic through by owner UID and GID, so such a container's
 * traffic would bypass the sidecar unseen. Only what the spec says is known here: an image whose
 * USER is the proxy's UID is not.
 */
export function proxyIdentityClash(
  spec: PodSpec | undefined,
  values: InterceptionValues,
): string | undefined {
  if (!spec) return undefined;
  const pod = runAs(spec.securityContext);
  const app = (list: readonly Container[] | undefined) =>
    (list ?? []).filter((c) => !RESERVED_CONTAINER_NAMES.includes(c.name));
  for (const c of app(spec.initContainers)) {
    const found = clash(c, pod, values, 'init container');
    if (found) return found;
  }
  for (const c of app(spec.containers)) {
    const found = clash(c, pod, values, 'container');
    if (found) return found;
  }
  return undefined;
}
