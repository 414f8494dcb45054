import type { EnvVar, ResolvedProxySpec } from '../api/index.js';
import { checkPolicy } from './compile-checks.js';
import type { Container, Volume } from './k8s-types.js';
import { buildInitArgs } from './init-args.js';
import {
  CONFIG_MOUNT_PATH,
  checkProxySpec,
  compileProxyConfig,
  PROXY_CONFIG_FILE_ENV,
  proxyConfigArgs,
  type ProxyConfig,
} from './proxy-config.js';
import { contentHash } from './revision.js';
import {
  CONFIG_VOLUME_NAME,
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
  type CompiledTemplate,
  type InterceptionValues,
  type SidecarMode,
} from './template.js';
import type { DefaultedSpec } from './policy-spec.js';

export interface CompileOptions {
  /** Whether the API server supports native sidecars (Kubernetes ≥ 1.29); resolves sidecarMode Auto. */
  nativeSidecars: boolean;
  /**
   * The image of `sidecar-init` when the policy names none: the operator's own image, so that the
   * iptables program understands the flags this operator renders, across upgrades.
   */
  initImage: string;
  /**
   * Whether the API server accepts the `sleep` lifecycle action (Kubernetes ≥ 1.30). Where it does
   * not, a 1.29 server would drop the field and then reject the pod for a preStop with no handler,
   * so the native proxy gets no preStop pause. Default: true.
   */
  sleepAction?: boolean;
}

export { CONFIG_MOUNT_PATH };
/** The proxy's readiness endpoint on its health port: the contract a proxy image must meet. */
export const READY_PATH = '/healthz/ready';

/**
 * Compile a defaulted policy into the template the webhook serves; pure and deterministic. Throws
 * (an Error naming the field) for a policy that cannot work, e.g. a bootstrap template without the
 * listeners the interception needs, an image with whitespace or a request above its limit.
 */
export function compileSpec(name: string, spec: DefaultedSpec, opts: CompileOptions): CompiledTemplate {
  checkPolicy(name, spec);
  checkProxySpec(spec);
  const mode = resolveMode(spec.injection.sidecarMode, opts.nativeSidecars);
  const interception = interceptionValues(spec);
  const proxyConfig = compileProxyConfig(name, spec);
  const init = initContainer(spec, interception, opts.initImage, proxyConfig);
  const content = {
    policy: name,
    sidecarMode: mode,
    selector: {
      namespaces: [...(spec.selector.namespaces ?? [])].sort(),
      ...(spec.selector.namespaceSelector ? { namespaceSelector: spec.selector.namespaceSelector } : {}),
      ...(spec.selector.podSelector ? { podSelector: spec.selector.podSelector } : {}),
    },
    injection: {
      holdApplicationUntilProxyStarts: spec.injection.holdApplicationUntilProxyStarts,
      allowedOverrides: [...(spec.injection.allowedOverrides ?? [])].sort(),
    },
    interception,
    ...compatibility(spec),
    ...(proxyConfig ? { proxyConfig } : {}),
    ...(init ? { initContainer: init } : {}),
    proxyContainer: proxyContainer(spec, mode, opts.sleepAction !== false, proxyConfig),
    volumes: volumes(spec),
  };
  // The revision covers everything else in the template, so any change a pod would see changes it.
  const { policy, ...rest } = content;
  return { policy, revision: contentHash(content), ...rest };
}

/** Only a policy that asks for compatibility gets the field, so no other policy's revision moves. */
function compatibility(spec: DefaultedSpec): Pick<CompiledTemplate, 'compatibility'> {
  const c = spec.compatibility;
  if (!c?.istio) return {};
  return { compatibility: { istio: { namespaceLabels: c.istioNamespaceLabels, revision: c.istioRevision } } };
}

export function resolveMode(mode: 'Auto' | 'Native' | 'Classic', nativeSidecars: boolean): SidecarMode {
  if (mode === 'Auto') return nativeSidecars ? 'Native' : 'Classic';
  return mode;
}

function interceptionValues(spec: DefaultedSpec): InterceptionValues {
  const i = spec.interception;
  const p = spec.proxy.ports;
  return {
    mode: i.mode,
    outboundPort: i.outboundPort,
    inboundPort: i.inboundPort,
    proxyUID: spec.proxy.uid,
    proxyGID: spec.proxy.gid,
    includeOutboundIPRanges: [...i.includeOutboundIPRanges],
    excludeOutboundIPRanges: [...i.excludeOutboundIPRanges],
    includeInboundPorts: [...i.includeInboundPorts],
    excludeInboundPorts: [...i.excludeInboundPorts],
    excludeOutboundPorts: [...i.excludeOutboundPorts],
    proxyPorts: [...new Set([p.status, p.health, p.metrics])].sort((a, b) => a - b),
  };
}

/** The downward-API variables both containers get; the policy's env may redefine them. */
const POD_ENV: EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];

const CONFIG_MOUNT = { name: CONFIG_VOLUME_NAME, mountPath: CONFIG_MOUNT_PATH };

/**
 * `sidecar-init`: writes the proxy's configuration into its memory volume (the pod-start
 * substitutions need the pod's name, namespace and address), then, unless interception is None,
 * installs the iptables rules as root with NET_ADMIN/NET_RAW and exits. With interception None it
 * only writes the file, as the proxy's user, without capabilities; with neither there is none.
 */
function initContainer(
  spec: DefaultedSpec,
  values: InterceptionValues,
  initImage: string,
  config: ProxyConfig | undefined,
): Container | undefined {
  const capture = values.mode !== 'None';
  if (!capture && !config) return undefined;
  return {
    name: INIT_CONTAINER_NAME,
    image: spec.init.image ?? initImage,
    command: ['sidecar-operator'],
    args: capture ? buildInitArgs(values, values.includeInboundPorts.join(',')) : ['proxy-config', 'write'],
    // The configuration itself (PROXY_CONFIG_ENV) is added per pod, for the pod's interception mode.
    ...(config
      ? {
          env: [...POD_ENV, { name: PROXY_CONFIG_FILE_ENV, value: config.file }],
          volumeMounts: [CONFIG_MOUNT],
        }
      : {}),
    resources: spec.init.resources,
    securityContext: capture ? ROOT_NET_ADMIN : asProxyUser(spec.proxy, []),
  };
}

/** Root with NET_ADMIN/NET_RAW only for as long as it takes to load the rules, then it exits. */
const ROOT_NET_ADMIN = {
  runAsUser: 0,
  runAsGroup: 0,
  runAsNonRoot: false,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
};

/** The proxy's user and group, read-only root, no privileges; `add` for TPROXY's IP_TRANSPARENT. */
export function asProxyUser(px: Pick<ResolvedProxySpec, 'uid' | 'gid'>, add: string[]) {
  return {
    runAsUser: px.uid,
    runAsGroup: px.gid,
    runAsNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: add.length > 0 ? { add, drop: ['ALL'] } : { drop: ['ALL'] },
  };
}

/** Ours first, then the policy's; a variable the policy defines replaces ours instead of repeating it. */
function proxyEnv(policyEnv: readonly EnvVar[] | undefined): EnvVar[] {
  const own = new Set((policyEnv ?? []).map((e) => e.name));
  return [...POD_ENV.filter((e) => !own.has(e.name)), ...(policyEnv ?? [])];
}

function proxyContainer(
  spec: DefaultedSpec,
  mode: SidecarMode,
  sleepAction: boolean,
  config: ProxyConfig | undefined,
): Container {
  const px = spec.proxy;
  const ready = { httpGet: { path: READY_PATH, port: px.ports.health } };
  const args = [...proxyConfigArgs(config, px.drainSeconds), ...(px.args ?? [])];
  const container: Container = {
    name: PROXY_CONTAINER_NAME,
    image: px.image,
    ...(px.command && px.command.length > 0 ? { command: [...px.command] } : {}),
    ...(args.length > 0 ? { args } : {}),
    env: proxyEnv(px.env),
    ports: [
      { name: 'proxy-admin', containerPort: px.ports.admin, protocol: 'TCP' },
      { name: 'proxy-status', containerPort: px.ports.status, protocol: 'TCP' },
      { name: 'proxy-health', containerPort: px.ports.health, protocol: 'TCP' },
      { name: 'proxy-metrics', containerPort: px.ports.metrics, protocol: 'TCP' },
    ],
    resources: px.resources,
    readinessProbe: { ...ready, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 30 },
    // TPROXY needs IP_TRANSPARENT on the proxy's sockets.
    securityContext: asProxyUser(px, spec.interception.mode === 'TPROXY' ? ['NET_ADMIN'] : []),
    volumeMounts: [CONFIG_MOUNT, ...(px.volumeMounts ?? []).map((m) => ({ ...m }))],
  };
  const drain = drainHook(px.drainSeconds, mode, sleepAction);
  if (mode === 'Native') {
    // The kubelet starts the next container only once this probe passes: the application (and the
    // app's init containers after it) never run before the proxy is ready.
    container.restartPolicy = 'Always';
    container.startupProbe = { ...ready, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 };
    if (drain) container.lifecycle = { preStop: drain };
  } else {
    // The kubelet runs a container's postStart hook to completion before it starts the next container.
    const hold = spec.injection.holdApplicationUntilProxyStarts
      ? { postStart: { exec: { command: ['/bin/sh', '-c', waitScript(px.ports.health)] } } }
      : {};
    if (drain || hold.postStart) container.lifecycle = { ...hold, ...(drain ? { preStop: drain } : {}) };
  }
  return container;
}

/**
 * Graceful drain: a pause before the proxy gets SIGTERM (Envoy exits at once on it), during which it
 * keeps carrying the connections of an application that is finishing its requests, while the pod's
 * endpoints are withdrawn. Native: the kubelet stops the proxy only after the application anyway, and
 * a 1.29 server, without the sleep action, would refuse a preStop it cannot read: none there.
 * Classic: proxy and application are stopped together, so the pause matters; `sleep` from the image
 * where the server has no sleep action (the proxy image already needs /bin/sh for the hold).
 */
function drainHook(
  seconds: number,
  mode: SidecarMode,
  sleepAction: boolean,
): Record<string, unknown> | undefined {
  if (seconds <= 0) return undefined;
  if (sleepAction) return { sleep: { seconds } };
  return mode === 'Classic' ? { exec: { command: ['sleep', String(seconds)] } } : undefined;
}

/**
 * Polls readiness for up to 2 minutes with whichever HTTP client the proxy image has: wget, curl, or
 * bash's /dev/tcp (the stock Envoy image has bash but neither of the others).
 */
function waitScript(port: number): string {
  const url = `http://127.0.0.1:${port}${READY_PATH}`;
  const bash =
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && ` +
    `printf "GET ${READY_PATH} HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n" >&3 && ` +
    `read -r _ code _ <&3 && [ "$code" = 200 ]'`;
  return (
    `i=0; while [ $i -lt 120 ]; do ` +
    `{ wget -q -O /dev/null ${url} || curl -fs -o /dev/null ${url} || ${bash}; } 2>/dev/null && exit 0; ` +
    `i=$((i+1)); sleep 1; done; exit 1`
  );
}

/** The proxy's memory-backed configuration volume, then the policy's own. */
function volumes(spec: DefaultedSpec): Volume[] {
  const own: Volume = { name: CONFIG_VOLUME_NAME, emptyDir: { medium: 'Memory' } };
  return [own, ...(spec.volumes ?? []).map((v) => structuredClone(v))];
}
