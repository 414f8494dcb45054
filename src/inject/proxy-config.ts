import { stringify } from 'yaml';
import { DEFAULTS as IPTABLES_DEFAULTS } from '../iptables/index.js';
import { renderBootstrap, type BootstrapParams } from './bootstrap.js';
import {
  checkTemplate,
  START_SUBSTITUTIONS,
  substitute,
  type CompileSubstitution,
} from './bootstrap-template.js';
import type { DefaultedSpec } from './policy-spec.js';
import { CONFIG_MOUNT_PATH, PROXY_CONFIG_FILE } from './proxy-config-names.js';
import type { InterceptionMode, ProxyConfig } from './template.js';

export {
  CONFIG_MOUNT_PATH,
  PROXY_CONFIG_ENV,
  PROXY_CONFIG_FILE,
  PROXY_CONFIG_FILE_ENV,
} from './proxy-config-names.js';

export type { ProxyConfig, ProxyConfigMode } from './template.js';

const YAML_OUT = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** The interception modes the pods of a policy can have. */
function modesOf(spec: DefaultedSpec): InterceptionMode[] {
  const mode = spec.interception.mode;
  if (mode === 'None') return ['None'];
  const switchable = (spec.injection.allowedOverrides ?? []).includes('interceptionMode');
  return switchable ? ['REDIRECT', 'TPROXY'] : [mode];
}

function params(name: string, spec: DefaultedSpec, mode: InterceptionMode): BootstrapParams {
  const px = spec.proxy;
  const xds = px.bootstrap.mode === 'Xds' ? px.bootstrap.xds : undefined;
  return {
    policy: name,
    mode,
    outboundPort: spec.interception.outboundPort,
    inboundPort: spec.interception.inboundPort,
    adminPort: px.ports.admin,
    healthPort: px.ports.health,
    metricsPort: px.ports.metrics,
    tproxyMark: IPTABLES_DEFAULTS.tproxyMark,
    ...(xds ? { xds } : {}),
  };
}

/** The values of the compile-time substitutions for one interception mode. */
export function compileSubstitutions(
  name: string,
  spec: DefaultedSpec,
  mode: InterceptionMode,
): Record<CompileSubstitution, string> {
  const px = spec.proxy;
  return {
    outboundPort: String(spec.interception.outboundPort),
    inboundPort: String(spec.interception.inboundPort),
    adminPort: String(px.ports.admin),
    statusPort: String(px.ports.status),
    healthPort: String(px.ports.health),
    metricsPort: String(px.ports.metrics),
    proxyUID: String(px.uid),
    drainSeconds: String(px.drainSeconds),
    transparent: String(mode === 'TPROXY'),
    tproxyMark: String(IPTABLES_DEFAULTS.tproxyMark),
    policy: name,
  };
}

function fromTemplate(name: string, spec: DefaultedSpec, mode: InterceptionMode, template: string): string {
  const text = substitute(template, compileSubstitutions(name, spec, mode), START_SUBSTITUTIONS);
  const required: Record<string, number> = { 'health port': spec.proxy.ports.health };
  if (mode !== 'None') {
    required['outbound capture port'] = spec.interception.outboundPort;
    required['inbound capture port'] = spec.interception.inboundPort;
  }
  checkTemplate(text, required);
  return text;
}

/**
 * Compile the policy's proxy configuration. Throws BootstrapTemplateError for a template that
 * cannot work (unknown substitutions, not an object, no listener on a port the pod needs).
 */
export function compileProxyConfig(name: string, spec: DefaultedSpec): ProxyConfig | undefined {
  const b = spec.proxy.bootstrap;
  if (b.mode === 'None') return undefined;
  const content: ProxyConfig['content'] = {};
  for (const mode of modesOf(spec)) {
    content[mode] =
      b.mode === 'Template'
        ? fromTemplate(name, spec, mode, b.template ?? '')
        : stringify(renderBootstrap(params(name, spec, mode)), YAML_OUT);
  }
  return { mode: b.mode, file: PROXY_CONFIG_FILE, content };
}

/** The flags `proxyConfigArgs` sets: Envoy refuses a flag given twice. */
const RESERVED_FLAGS = ['-c', '--config-path', '--drain-time-s', '--drain-strategy', '--disable-hot-restart'];

/**
 * What the CRD's CEL rules refuse, checked again when compiling (offline policies never met the API
 * server): a proxy flag the operator already sets, a mount of an undeclared volume, a mount over the
 * configuration volume. Throws an Error naming the field.
 */
export function checkProxySpec(spec: DefaultedSpec): void {
  const px = spec.proxy;
  if (px.bootstrap.mode !== 'None') {
    const clash = (px.args ?? []).find((a) => RESERVED_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)));
    if (clash !== undefined)
      throw new Error(
        `proxy.args: ${clash} is set by the operator (bootstrap mode ${px.bootstrap.mode}); remove it, or use bootstrap mode None`,
      );
  }
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  for (const m of px.volumeMounts ?? []) {
    if (!volumes.has(m.name))
      throw new Error(
        `proxy.volumeMounts: ${m.mountPath} names volume ${m.name}, which spec.volumes does not declare`,
      );
    if (m.mountPath === CONFIG_MOUNT_PATH || m.mountPath.startsWith(`${CONFIG_MOUNT_PATH}/`))
      throw new Error(`proxy.volumeMounts: ${m.mountPath} would cover the proxy's configuration volume`);
  }
}

/** Envoy flags that point the proxy at its file and set its drain; the policy's args follow. */
export function proxyConfigArgs(config: ProxyConfig | undefined, drainSeconds: number): string[] {
  if (!config) return [];
  return [
    '--config-path',
    config.file,
    '--drain-time-s',
    String(drainSeconds),
    '--drain-strategy',
    'immediate',
    // No shared memory region for a hot restart that never happens (as Istio runs Envoy).
    '--disable-hot-restart',
  ];
}
