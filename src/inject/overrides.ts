import { OVERRIDE_ANNOTATIONS, type OverrideName } from '../api/index.js';
import { applyIstioAlias, isIstioSetting, ISTIO_ALIASES } from './istio-overrides.js';
import type { Overrides, WarningReason } from './override-types.js';
import type { InterceptionValues } from './template.js';

export type { InjectWarning, Overrides, WarningReason } from './override-types.js';

type Field = keyof Pick<
  InterceptionValues,
  | 'includeOutboundIPRanges'
  | 'excludeOutboundIPRanges'
  | 'includeInboundPorts'
  | 'excludeInboundPorts'
  | 'excludeOutboundPorts'
>;

/** Applies the value to `out`, or returns why it cannot (a sentence). */
export type Apply = (value: string, out: Overrides) => string | undefined;

const cidr4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const cidr6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/(12[0-8]|1[01]\d|\d?\d)$/;
const quantity =
  /^(\+|-)?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?((\d+(\.\d*)?)|(\.\d+))))?$/;

/** A value quoted for a warning, cut short: warnings go back to the pod's author and to logs. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function isPort(s: string): boolean {
  return /^[1-9]\d{0,4}$/.test(s) && Number(s) <= 65535;
}

function listOf(field: Field, check: (s: string) => boolean, what: string, star: boolean): Apply {
  return (value, out) => {
    const items = list(value);
    if (star && items.includes('*')) {
      if (items.length > 1) return '"*" cannot be combined with other entries';
    } else {
      const bad = items.find((s) => !check(s));
      if (bad !== undefined) return `${quote(bad)} is not ${what}`;
    }
    out.interception = { ...out.interception, [field]: items };
    if (field === 'includeInboundPorts') out.inboundFromAnnotation = true;
    return undefined;
  };
}

function resource(kind: 'requests' | 'limits', name: 'cpu' | 'memory'): Apply {
  return (value, out) => {
    if (!quantity.test(value.trim())) return `${quote(value)} is not a resource quantity (e.g. 100m, 128Mi)`;
    out[kind] = { ...out[kind], [name]: value.trim() };
    return undefined;
  };
}

/**
 * The longest CIDR is an IPv6 address with an embedded IPv4 one and a /128 (49 characters). The
 * length check comes first: `cidr6` backtracks quadratically on long runs of `:`, and an annotation
 * value can be hundreds of kilobytes.
 */
const MAX_CIDR_LENGTH = 49;
const isCidr = (s: string): boolean => s.length <= MAX_CIDR_LENGTH && (cidr4.test(s) || cidr6.test(s));

/** How each override the API defines is checked and applied; its annotation comes from the API. */
const APPLY: Readonly<Record<OverrideName, Apply>> = {
  includeOutboundIPRanges: listOf('includeOutboundIPRanges', isCidr, 'a CIDR', true),
  excludeOutboundIPRanges: listOf('excludeOutboundIPRanges', isCidr, 'a CIDR', false),
  includeInboundPorts: listOf('includeInboundPorts', isPort, 'a port number', true),
  excludeInboundPorts: listOf('excludeInboundPorts', isPort, 'a port number', false),
  excludeOutboundPorts: listOf('excludeOutboundPorts', isPort, 'a port number', false),
  interceptionMode: (value, out) => {
    if (value !== 'REDIRECT' && value !== 'TPROXY') return `${quote(value)} is not REDIRECT or TPROXY`;
    out.interception = { ...out.interception, mode: value };
    return undefined;
  },
  proxyCPU: resource('requests', 'cpu'),
  proxyMemory: resource('requests', 'memory'),
  proxyCPULimit: resource('limits', 'cpu'),
  proxyMemoryLimit: resource('limits', 'memory'),
};

const byAnnotation = new Map(
  Object.entries(OVERRIDE_ANNOTATIONS).map(([name, annotation]) => [
    annotation,
    { name, apply: APPLY[name as OverrideName] },
  ]),
);
/** Unknown annotations under these prefixes are reported: a typo should not pass silently. */
const OVERRIDE_PREFIXES = ['traffic.sidecar.dev/', 'sidecar.dev/proxy'];

/**
 * Apply the pod's override annotations that the policy allows, in a fixed order (the table's), and
 * report every one that is not applied. Switching interception to None by annotation is refused: a
 * pod that wants no capture should opt out of injection. With `istio`, Istio's annotations alias
 * ours under the same allow-list (ours win when both are set), read with Istio's grammar.
 */
export function readOverrides(
  annotations: Readonly<Record<string, string>>,
  base: InterceptionValues,
  allowed: readonly string[],
  opts: { istio?: boolean } = {},
): Overrides {
  const out: Overrides = {
    interception: base,
    inboundFromAnnotation: false,
    requests: {},
    limits: {},
    warnings: [],
  };
  // Only the few keys that concern us are sorted: a pod may carry thousands of other annotations.
  const keys = Object.keys(annotations).filter(
    (k) => byAnnotation.has(k) || OVERRIDE_PREFIXES.some((p) => k.startsWith(p)),
  );
  for (const key of keys.sort()) {
    const value = annotations[key] ?? '';
    const known = byAnnotation.get(key);
    if (!known) {
      if (OVERRIDE_PREFIXES.some((p) => key.startsWith(p))) {
        out.warnings.push({
          reason: 'UnknownOverride',
          subject: key,
          message: `${key}: not a known override; ignored`,
        });
      }
      continue;
    }
    if (!allowed.includes(known.name)) {
      out.warnings.push({
        reason: 'OverrideNotAllowed',
        subject: key,
        message: `${key}: the policy does not list ${known.name} in allowedOverrides; ignored`,
      });
      continue;
    }
    const error = known.apply(value, out);
    if (error !== undefined) {
      out.warnings.push({
        reason: 'OverrideMalformed',
        subject: key,
        message: `${key}: ${error}; ignored`,
      });
    }
  }
  if (opts.istio) readIstio(annotations, allowed, out);
  return out;
}

/** Istio's settings, after ours: each alias applied unless ours is set or the policy forbids it. */
function readIstio(
  annotations: Readonly<Record<string, string>>,
  allowed: readonly string[],
  out: Overrides,
) {
  const keys = Object.keys(annotations).filter(isIstioSetting).sort();
  for (const key of keys) {
    const name = ISTIO_ALIASES.get(key);
    const warn = (reason: WarningReason, why: string) =>
      out.warnings.push({ reason, subject: key, message: `${key}: ${why}` });
    if (name === undefined) {
      warn('NotHonoured', 'an Istio setting this injector has no equivalent for; ignored');
    } else if (annotations[OVERRIDE_ANNOTATIONS[name]] !== undefined) {
      warn('OverrideShadowed', `${OVERRIDE_ANNOTATIONS[name]} is set too, and wins; ignored`);
    } else if (!allowed.includes(name)) {
      warn('OverrideNotAllowed', `the policy does not list ${name} in allowedOverrides; ignored`);
    } else {
      const problem = applyIstioAlias(name, key, annotations[key] ?? '', out);
      if (problem !== undefined) warn(problem.reason, `${problem.why}; ignored`);
    }
  }
}
