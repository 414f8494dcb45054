import type { InterceptionValues } from './template.js';

/** Why an override annotation was not applied. */
export type WarningReason = 'OverrideNotAllowed' | 'OverrideMalformed' | 'UnknownOverride';

export interface InjectWarning {
  reason: WarningReason;
  annotation: string;
  message: string;
}

/** The per-pod result of reading override annotations. */
export interface Overrides {
  interception: InterceptionValues;
  /** Whether includeInboundPorts came from an annotation (then `*` means all ports, literally). */
  inboundFromAnnotation: boolean;
  requests: Record<string, string>;
  limits: Record<string, string>;
  warnings: InjectWarning[];
}

type Field = keyof Pick<
  InterceptionValues,
  | 'includeOutboundIPRanges'
  | 'excludeOutboundIPRanges'
  | 'includeInboundPorts'
  | 'excludeInboundPorts'
  | 'excludeOutboundPorts'
>;

interface Spec {
  annotation: string;
  /** Returns an error sentence, or applies the value. */
  apply: (value: string, out: Overrides) => string | undefined;
}

const TRAFFIC = 'traffic.sidecar.dev/';
const PROXY = 'sidecar.dev/';

const cidr4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const cidr6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/(12[0-8]|1[01]\d|\d?\d)$/;
const quantity =
  /^(\+|-)?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?((\d+(\.\d*)?)|(\.\d+))))?$/;

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function isPort(s: string): boolean {
  return /^[1-9]\d{0,4}$/.test(s) && Number(s) <= 65535;
}

function listOf(field: Field, check: (s: string) => boolean, what: string, star: boolean): Spec['apply'] {
  return (value, out) => {
    const items = list(value);
    if (star && items.includes('*')) {
      if (items.length > 1) return '"*" cannot be combined with other entries';
    } else {
      const bad = items.find((s) => !check(s));
      if (bad !== undefined) return `"${bad}" is not ${what}`;
    }
    out.interception = { ...out.interception, [field]: items };
    if (field === 'includeInboundPorts') out.inboundFromAnnotation = true;
    return undefined;
  };
}

function resource(kind: 'requests' | 'limits', name: 'cpu' | 'memory'): Spec['apply'] {
  return (value, out) => {
    if (!quantity.test(value.trim())) return `"${value}" is not a resource quantity (e.g. 100m, 128Mi)`;
    out[kind] = { ...out[kind], [name]: value.trim() };
    return undefined;
  };
}

const isCidr = (s: string): boolean => cidr4.test(s) || cidr6.test(s);

/** Every override the SPEC defines, by its allowedOverrides name. */
export const OVERRIDES: Readonly<Record<string, Spec>> = {
  includeOutboundIPRanges: {
    annotation: `${TRAFFIC}includeOutboundIPRanges`,
    apply: listOf('includeOutboundIPRanges', isCidr, 'a CIDR', true),
  },
  excludeOutboundIPRanges: {
    annotation: `${TRAFFIC}excludeOutboundIPRanges`,
    apply: listOf('excludeOutboundIPRanges', isCidr, 'a CIDR', false),
  },
  includeInboundPorts: {
    annotation: `${TRAFFIC}includeInboundPorts`,
    apply: listOf('includeInboundPorts', isPort, 'a port number', true),
  },
  excludeInboundPorts: {
    annotation: `${TRAFFIC}excludeInboundPorts`,
    apply: listOf('excludeInboundPorts', isPort, 'a port number', false),
  },
  excludeOutboundPorts: {
    annotation: `${TRAFFIC}excludeOutboundPorts`,
    apply: listOf('excludeOutboundPorts', isPort, 'a port number', false),
  },
  interceptionMode: {
    annotation: `${TRAFFIC}interceptionMode`,
    apply: (value, out) => {
      if (value !== 'REDIRECT' && value !== 'TPROXY') return `"${value}" is not REDIRECT or TPROXY`;
      out.interception = { ...out.interception, mode: value };
      return undefined;
    },
  },
  proxyCPU: { annotation: `${PROXY}proxyCPU`, apply: resource('requests', 'cpu') },
  proxyMemory: { annotation: `${PROXY}proxyMemory`, apply: resource('requests', 'memory') },
  proxyCPULimit: { annotation: `${PROXY}proxyCPULimit`, apply: resource('limits', 'cpu') },
  proxyMemoryLimit: { annotation: `${PROXY}proxyMemoryLimit`, apply: resource('limits', 'memory') },
};

const byAnnotation = new Map(Object.entries(OVERRIDES).map(([name, s]) => [s.annotation, { name, ...s }]));
/** Annotations under these prefixes that we do not know are reported: a typo should not pass silently. */
const NOT_OVERRIDES = new Set([
  'sidecar.dev/inject',
  'sidecar.dev/status',
  'sidecar.dev/revision',
  'sidecar.dev/policy',
]);

/**
 * Apply the pod's override annotations that the policy allows, in a fixed order (the table's), and
 * report every one that is not applied. Switching interception to None by annotation is refused: a
 * pod that wants no capture should opt out of injection.
 */
export function readOverrides(
  annotations: Readonly<Record<string, string>>,
  base: InterceptionValues,
  allowed: readonly string[],
): Overrides {
  const out: Overrides = {
    interception: base,
    inboundFromAnnotation: false,
    requests: {},
    limits: {},
    warnings: [],
  };
  for (const key of Object.keys(annotations).sort()) {
    const value = annotations[key] ?? '';
    const known = byAnnotation.get(key);
    if (!known) {
      if ((key.startsWith(TRAFFIC) || key.startsWith(PROXY)) && !NOT_OVERRIDES.has(key)) {
        out.warnings.push({
          reason: 'UnknownOverride',
          annotation: key,
          message: `${key}: not a known override; ignored`,
        });
      }
      continue;
    }
    if (!allowed.includes(known.name)) {
      out.warnings.push({
        reason: 'OverrideNotAllowed',
        annotation: key,
        message: `${key}: the policy does not list ${known.name} in allowedOverrides; ignored`,
      });
      continue;
    }
    const error = known.apply(value, out);
    if (error !== undefined) {
      out.warnings.push({
        reason: 'OverrideMalformed',
        annotation: key,
        message: `${key}: ${error}; ignored`,
      });
    }
  }
  return out;
}
