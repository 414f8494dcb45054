import { escapePointer, pointerTokens, type PatchOperation } from './json-patch.js';
import type { Container, Pod } from './k8s-types.js';
import { FOREIGN_MESH_CONTAINERS } from './meshed.js';
import { parseStatus, REVISION_LABEL, STATUS_ANNOTATION } from './status.js';
import { CONFIG_VOLUME_NAME, INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from './template.js';

/**
 * Undo an injection, ours or Istio's, so that a manifest can move from one to the other. What was
 * added is found by the status annotations (each injector records the names it added) and by the
 * containers' well-known names; what Istio rewrote in the app (HTTP, TCP and gRPC probes and
 * lifecycle hooks sent to the agent on its status port, Prometheus annotations merged into the
 * agent's) is put back from the originals it keeps in the proxy's environment.
 *
 * Left in place, deliberately: `kubectl.kubernetes.io/default-container` (it names an app
 * container, which stays right) and Istio's `service.istio.io/canonical-*` labels (Istio only adds
 * them when absent, so they may be the author's).
 */
export interface UninjectResult {
  /** The pod without the injections; the input itself when there was nothing to remove. */
  pod: Pod;
  /** RFC 6902 operations turning the input into `pod`. */
  patch: PatchOperation[];
  /** What was removed, one phrase per injector (`Istio (istio-init, istio-proxy)`). */
  removed: string[];
  /** Why a pod with a proxy was left as it is. */
  kept?: string;
}

export const ISTIO_STATUS = 'sidecar.istio.io/status';
const ISTIO_REV = 'istio.io/rev';
const ISTIO_TLS_LABEL = 'security.istio.io/tlsMode';
const ISTIO_OVERRIDES = 'proxy.istio.io/overrides';
const MULTUS = 'k8s.v1.cni.cncf.io/networks';
const ISTIO_PORT_ANNOTATIONS = ['prometheus.io/scrape', 'prometheus.io/path', 'prometheus.io/port'];
const LISTS = ['initContainers', 'containers', 'volumes', 'imagePullSecrets'] as const;
type List = (typeof LISTS)[number];
type Names = Record<List, Set<string>>;

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function names(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Names Istio's status annotation records, plus its containers' fixed names. */
function istioNames(annotations: Record<string, string>): Names {
  let s: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(annotations[ISTIO_STATUS] ?? '{}') as unknown;
    if (isObj(parsed)) s = parsed;
  } catch {
    // Unreadable: the fixed names below still find its containers.
  }
  const fixed = Object.keys(FOREIGN_MESH_CONTAINERS).filter((n) => n.startsWith('istio-'));
  // Istio's status also names app containers its template changed (env, mounts): of the regular
  // containers, only its own proxy goes.
  const own = names(s.containers).filter((n) => n.startsWith('istio-'));
  return {
    initContainers: new Set([...names(s.initContainers), ...fixed]),
    containers: new Set([...own, ...fixed]),
    volumes: new Set(names(s.volumes)),
    imagePullSecrets: new Set(names(s.imagePullSecrets)),
  };
}

function ourNames(annotations: Record<string, string>): Names {
  const s = parseStatus(annotations);
  const fixed = [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME];
  return {
    initContainers: new Set([...(s?.initContainers ?? []), ...fixed]),
    containers: new Set([...(s?.containers ?? []), ...fixed]),
    volumes: new Set(s ? s.volumes : [CONFIG_VOLUME_NAME]),
    imagePullSecrets: new Set(),
  };
}

function proxyEnv(spec: Record<string, unknown>, name: string): string | undefined {
  for (const list of ['containers', 'initContainers']) {
    for (const c of (spec[list] ?? []) as Container[]) {
      if (c.name !== 'istio-proxy' || !Array.isArray(c.env)) continue;
      const v = (c.env as { name?: unknown; value?: unknown }[]).find((e) => e.name === name)?.value;
      if (typeof v === 'string') return v;
    }
  }
  return undefined;
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function parseJson(raw: string | undefined): Record<string, unknown> {
  try {
    const v = JSON.parse(raw ?? '{}') as unknown;
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}

const HANDLERS = ['httpGet', 'tcpSocket', 'grpc', 'exec'];

/** The app's probe or hook as it was before Istio pointed it at its agent, or undefined. */
function original(handler: unknown, probers: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!isObj(handler) || !isObj(handler.httpGet)) return undefined;
  const path = handler.httpGet.path;
  const saved =
    typeof path === 'string' && /^\/app-(health|lifecycle)\//.test(path) ? probers[path] : undefined;
  if (!isObj(saved)) return undefined;
  const rest = Object.fromEntries(Object.entries(handler).filter(([k]) => !HANDLERS.includes(k)));
  return { ...rest, ...saved };
}

function probeOps(spec: Record<string, unknown>, probers: Record<string, unknown>): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const list of ['initContainers', 'containers']) {
    ((spec[list] ?? []) as Container[]).forEach((c, i) => {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const value = original(c[probe], probers);
        if (value) ops.push({ op: 'replace', path: `/spec/${list}/${i}/${probe}`, value });
      }
      const hooks = isObj(c.lifecycle) ? c.lifecycle : {};
      for (const hook of ['postStart', 'preStop']) {
        const value = original(hooks[hook], probers);
        if (value) ops.push({ op: 'replace', path: `/spec/${list}/${i}/lifecycle/${hook}`, value });
      }
    });
  }
  return ops;
}

function listOps(spec: Record<string, unknown>, drop: Names): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const list of LISTS) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    const gone = items.flatMap((it, i) =>
      drop[list].has(String((it as { name?: unknown })?.name)) ? [i] : [],
    );
    if (gone.length === 0) continue;
    if (gone.length === items.length && list !== 'containers')
      ops.push({ op: 'remove', path: `/spec/${list}` });
    else for (const i of gone.reverse()) ops.push({ op: 'remove', path: `/spec/${list}/${i}` });
  }
  return ops;
}

/** Mounts, in the containers that stay, of the volumes that go (Istio mounts some into the app). */
function mountOps(spec: Record<string, unknown>, drop: Names): PatchOperation[] {
  const present = new Set(
    ((spec.volumes ?? []) as { name?: unknown }[])
      .map((v) => String(v?.name))
      .filter((n) => drop.volumes.has(n)),
  );
  const ops: PatchOperation[] = [];
  for (const list of ['initContainers', 'containers'] as const) {
    ((spec[list] ?? []) as Container[]).forEach((c, i) => {
      if (drop[list].has(c.name) || !Array.isArray(c.volumeMounts)) return;
      const mounts = c.volumeMounts as { name?: unknown }[];
      const gone = mounts.flatMap((m, j) => (present.has(String(m?.name)) ? [j] : []));
      if (gone.length === mounts.length && gone.length > 0)
        ops.push({ op: 'remove', path: `/spec/${list}/${i}/volumeMounts` });
      else
        for (const j of gone.reverse())
          ops.push({ op: 'remove', path: `/spec/${list}/${i}/volumeMounts/${j}` });
    });
  }
  return ops;
}

/** Map edits: removals, and restored values; the whole map goes when nothing is left in it. */
function mapOps(
  path: string,
  map: Record<string, string> | undefined,
  remove: readonly string[],
  restore: Record<string, string> = {},
): PatchOperation[] {
  if (map === undefined) return [];
  const next = { ...map };
  for (const k of remove) delete next[k];
  Object.assign(next, restore);
  if (Object.keys(next).length === 0) return Object.keys(map).length > 0 ? [{ op: 'remove', path }] : [];
  const ops: PatchOperation[] = [];
  for (const k of Object.keys(map))
    if (!(k in next)) ops.push({ op: 'remove', path: `${path}/${escapePointer(k)}` });
  for (const [k, v] of Object.entries(next))
    if (map[k] !== v) ops.push({ op: 'add', path: `${path}/${escapePointer(k)}`, value: v });
  return ops;
}

/** Prometheus annotations Istio merged into its agent's: put back the app's, or drop Istio's own. */
function prometheus(annotations: Record<string, string>, spec: Record<string, unknown>) {
  const merged =
    annotations['prometheus.io/port'] === '15020' &&
    annotations['prometheus.io/path'] === '/stats/prometheus';
  if (!merged) return { remove: [], restore: {} };
  const saved = parseJson(proxyEnv(spec, 'ISTIO_PROMETHEUS_ANNOTATIONS'));
  const restore: Record<string, string> = {};
  for (const key of ['scrape', 'path', 'port'])
    if (typeof saved[key] === 'string') restore[`prometheus.io/${key}`] = saved[key];
  return { remove: ISTIO_PORT_ANNOTATIONS, restore };
}

/** The Multus networks annotation without the `istio-cni` attachment Istio's CNI mode appends. */
function withoutIstioCni(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || !value.includes('istio-cni')) return undefined;
  const isIstio = (name: unknown): boolean =>
    typeof name === 'string' && /(^|\/)istio-cni$/.test(name.trim());
  if (value.trim().startsWith('[')) {
    const list = tryJson(value);
    if (!Array.isArray(list)) return undefined;
    const kept = list.filter((n) => !(isObj(n) && isIstio(n.name)));
    if (kept.length === 0) return { [MULTUS]: '' };
    // Keep the author's text when cutting Istio's entry out of it leaves the same list.
    const cut = value.replace(/,\s*\{[^{}]*"name"\s*:\s*"istio-cni"[^{}]*\}/, '');
    const same = JSON.stringify(tryJson(cut)) === JSON.stringify(kept);
    return { [MULTUS]: same ? cut : JSON.stringify(kept) };
  }
  return {
    [MULTUS]: value
      .split(',')
      .filter((n) => !isIstio(n))
      .map((n) => n.trim())
      .join(', '),
  };
}

/**
 * Annotations and labels the injectors wrote: their status, our revision label, Istio's revision,
 * TLS-mode label, container overrides, merged Prometheus annotations and CNI network attachment.
 * Also used for a CronJob's job template, where Istio's kube-inject copies the pod's marks.
 */
export function metadataOps(
  path: string,
  meta: { annotations?: Record<string, string>; labels?: Record<string, string> } | undefined,
  spec: Record<string, unknown> = {},
): PatchOperation[] {
  const annotations = meta?.annotations ?? {};
  const prom = prometheus(annotations, spec);
  const keys = [STATUS_ANNOTATION, ISTIO_STATUS, ISTIO_OVERRIDES, ...prom.remove];
  const istioRev = parseJson(annotations[ISTIO_STATUS]).revision;
  if (istioRev !== undefined && annotations[ISTIO_REV] === istioRev) keys.push(ISTIO_REV);
  const networks = withoutIstioCni(annotations[MULTUS]);
  if (networks?.[MULTUS] === '') keys.push(MULTUS);
  const restore = { ...prom.restore, ...(networks?.[MULTUS] ? networks : {}) };
  const labels = [REVISION_LABEL, ...(meta?.labels?.[ISTIO_TLS_LABEL] === 'istio' ? [ISTIO_TLS_LABEL] : [])];
  return [
    ...mapOps(`${path}/annotations`, meta?.annotations, keys, restore),
    ...mapOps(`${path}/labels`, meta?.labels, labels),
  ];
}

/**
 * `istioStatus`: Istio's status annotation found elsewhere (on a CronJob's job template, where
 * kube-inject may leave it instead of on the pod template), used to name what Istio added.
 */
export function uninjectPod(pod: Pod, istioStatus?: string): UninjectResult {
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  const annotations = pod.metadata?.annotations ?? {};
  const ours = ourNames(annotations);
  const istio = istioNames(
    annotations[ISTIO_STATUS] === undefined && istioStatus !== undefined
      ? { [ISTIO_STATUS]: istioStatus }
      : annotations,
  );
  const present = (n: Names): string[] =>
    (['initContainers', 'containers'] as const).flatMap((l) =>
      ((spec[l] ?? []) as Container[]).map((c) => c.name).filter((x) => n[l].has(x)),
    );
  const removed: string[] = [];
  const ourFound = present(ours);
  const istioFound = present(istio);
  if (ourFound.length > 0 || annotations[STATUS_ANNOTATION] !== undefined)
    removed.push(`sidecar-operator (${ourFound.join(', ') || 'status annotation'})`);
  if (istioFound.length > 0 || annotations[ISTIO_STATUS] !== undefined)
    removed.push(`Istio (${istioFound.join(', ') || 'status annotation'})`);
  if (removed.length === 0) return { pod, patch: [], removed };
  const apps = ((spec.containers ?? []) as Container[]).filter(
    (c) => !ours.containers.has(c.name) && !istio.containers.has(c.name),
  );
  if (apps.length === 0) {
    const kept = 'its only containers are the proxy’s (a gateway, not a sidecar)';
    return { pod, patch: [], removed: [], kept };
  }

  const drop = Object.fromEntries(LISTS.map((l) => [l, new Set([...ours[l], ...istio[l]])])) as Names;
  const probers = parseJson(proxyEnv(spec, 'ISTIO_KUBE_APP_PROBERS'));
  const patch = [
    ...metadataOps('/metadata', pod.metadata, spec),
    ...probeOps(spec, probers),
    ...mountOps(spec, drop),
    ...listOps(spec, drop),
  ];
  return { pod: applyOps(pod, patch), patch, removed };
}

/** A copy of the object with `ops` applied (only the kinds produced above). */
export function applyOps<T>(pod: T, ops: readonly PatchOperation[]): T {
  const out = structuredClone(pod);
  for (const op of ops) {
    const tokens = pointerTokens(op.path);
    const last = tokens.pop()!;
    let parent: unknown = out;
    for (const t of tokens) parent = (parent as Record<string, unknown>)[t];
    if (Array.isArray(parent)) {
      if (op.op === 'remove') parent.splice(Number(last), 1);
      else parent[Number(last)] = op.value;
    } else if (op.op === 'remove') delete (parent as Record<string, unknown>)[last];
    else (parent as Record<string, unknown>)[last] = op.value;
  }
  return out;
}
