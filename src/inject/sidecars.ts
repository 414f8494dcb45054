import { asProxyUser } from './compile.js';
import { buildInitArgs, inboundPortsFor } from './init-args.js';
import type { Container, PodSpec } from './k8s-types.js';
import type { InjectWarning, Overrides } from './overrides.js';
import { PROXY_CONFIG_ENV } from './proxy-config.js';
import type { CompiledTemplate, InterceptionMode } from './template.js';

export interface Sidecars {
  initContainers: Container[];
  containers: Container[];
  proxyFirst: boolean;
  warnings: InjectWarning[];
}

/**
 * The containers to add to one pod and where. Native: the proxy right after the init container, so
 * the app's init containers already have a working proxy. Classic: the first container when the app
 * must wait for it (the kubelet starts containers in order and waits for each postStart hook), else
 * the last, as Istio does.
 */
export function sidecars(template: CompiledTemplate, overrides: Overrides, app: PodSpec): Sidecars {
  const mode = podMode(template, overrides);
  const warnings: InjectWarning[] = [];
  if (template.interception.mode === 'None' && overrides.interception.mode !== 'None')
    warnings.push(noCaptureToSwitch(overrides.interception.mode));
  const proxy = proxyFor(template, overrides, mode);
  const init = initFor(template, overrides, mode, app.containers);
  const initContainers = init ? [init] : [];
  if (template.sidecarMode === 'Native')
    return { initContainers: [...initContainers, proxy], containers: [], proxyFirst: false, warnings };
  const never = neverCompletes(app, template.proxyContainer);
  if (never) warnings.push(never);
  return {
    initContainers,
    containers: [proxy],
    proxyFirst: template.injection.holdApplicationUntilProxyStarts,
    warnings,
  };
}

/** The pod's interception: the policy's, switched between REDIRECT and TPROXY by an allowed annotation. */
function podMode(template: CompiledTemplate, overrides: Overrides): InterceptionMode {
  return template.interception.mode === 'None' ? 'None' : overrides.interception.mode;
}

function noCaptureToSwitch(mode: InterceptionMode): InjectWarning {
  return {
    reason: 'OverrideNotAllowed',
    subject: 'traffic.sidecar.dev/interceptionMode',
    message: `traffic.sidecar.dev/interceptionMode: the policy's interception is None, so there is no capture to switch to ${mode}; ignored`,
  };
}

function initFor(
  template: CompiledTemplate,
  overrides: Overrides,
  mode: InterceptionMode,
  app: Container[],
): Container | undefined {
  const init = template.initContainer;
  if (!init) return undefined;
  let out = init;
  if (mode !== 'None') {
    const ports = inboundPortsFor(overrides.interception, app, overrides.inboundFromAnnotation);
    out = { ...out, args: buildInitArgs(overrides.interception, ports) };
  }
  const content = template.proxyConfig?.content[mode];
  if (content !== undefined) {
    const env = (out.env as unknown[] | undefined) ?? [];
    out = { ...out, env: [...env, { name: PROXY_CONFIG_ENV, value: content }] };
  }
  return out;
}

function proxyFor(template: CompiledTemplate, overrides: Overrides, mode: InterceptionMode): Container {
  let proxy = withResources(template.proxyContainer, overrides.requests, overrides.limits);
  // An annotation may switch the pod to TPROXY (or back): IP_TRANSPARENT follows the pod's mode.
  if (mode !== template.interception.mode && template.interception.mode !== 'None') {
    const sc = proxy.securityContext as { runAsUser: number; runAsGroup: number };
    const ids = { uid: sc.runAsUser, gid: sc.runAsGroup };
    proxy = { ...proxy, securityContext: asProxyUser(ids, mode === 'TPROXY' ? ['NET_ADMIN'] : []) };
  }
  return proxy;
}

function withResources(
  proxy: Container,
  requests: Record<string, string>,
  limits: Record<string, string>,
): Container {
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return proxy;
  const res = (proxy.resources ?? {}) as {
    requests?: Record<string, unknown>;
    limits?: Record<string, unknown>;
  };
  const resources: Record<string, unknown> = { ...res };
  if (Object.keys(requests).length > 0) resources.requests = { ...res.requests, ...requests };
  if (Object.keys(limits).length > 0) resources.limits = { ...res.limits, ...limits };
  return { ...proxy, resources };
}

/**
 * A classic sidecar runs until the pod is deleted: in a pod meant to finish (restartPolicy Never or
 * OnFailure, as every Job's pod is) it keeps the pod Running after the application exits, and the
 * Job never completes. Injected all the same (the pod is what was asked for), with a warning that
 * the webhook returns and records on the pod's owner.
 */
function neverCompletes(spec: PodSpec, proxy: Container): InjectWarning | undefined {
  const policy = spec.restartPolicy;
  if (policy !== 'Never' && policy !== 'OnFailure') return undefined;
  const admin = proxy.ports?.find((p) => p.name === 'proxy-admin')?.containerPort ?? 15000;
  return {
    reason: 'ProxyNeverExits',
    subject: 'spec.restartPolicy',
    message:
      `spec.restartPolicy is ${policy} (a Job's pod?), but the proxy is a classic sidecar that never exits: ` +
      'the pod will not complete when the application does. Use sidecarMode Native (Kubernetes 1.29 or ' +
      'later), opt the pod out with the label sidecar.dev/inject=false, or have the application ' +
      `POST http://127.0.0.1:${admin}/quitquitquit when it is done`,
  };
}
