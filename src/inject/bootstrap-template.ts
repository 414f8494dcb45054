import { parse } from 'yaml';

/**
 * The substitutions a bootstrap template (proxy.bootstrap.mode Template) may use, written exactly as
 * `{{ name }}`. The first set is filled in when the policy is compiled (the same for every pod of an
 * interception mode), the second by the init container when the pod starts.
 */
export const COMPILE_SUBSTITUTIONS = [
  'outboundPort',
  'inboundPort',
  'adminPort',
  'statusPort',
  'healthPort',
  'metricsPort',
  'proxyUID',
  'drainSeconds',
  'transparent',
  'tproxyMark',
  'policy',
] as const;
export const START_SUBSTITUTIONS = ['podName', 'podNamespace', 'podIP'] as const;

export type CompileSubstitution = (typeof COMPILE_SUBSTITUTIONS)[number];
export type StartSubstitution = (typeof START_SUBSTITUTIONS)[number];

/** A template that cannot be used; the message names what is wrong, for the policy's status. */
export class BootstrapTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapTemplateError';
  }
}

/** Anything shaped like a substitution, spacing aside, so that typos are reported rather than kept. */
const LOOKS_LIKE = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

const KNOWN = new Set<string>([...COMPILE_SUBSTITUTIONS, ...START_SUBSTITUTIONS]);

/**
 * Replaces `{{ name }}` for every name in `values`; names in `keep` are left for later. Any other
 * substitution-shaped text is an error, so is a known name not written as `{{ name }}`.
 */
export function substitute(
  text: string,
  values: Readonly<Record<string, string>>,
  keep: readonly string[] = [],
): string {
  const problems = new Set<string>();
  const out = text.replace(LOOKS_LIKE, (match: string, name: string) => {
    const canonical = `{{ ${name} }}`;
    if (!KNOWN.has(name)) problems.add(`unknown substitution ${match}`);
    else if (match !== canonical) problems.add(`write ${match} as ${canonical}`);
    else if (name in values) return values[name]!;
    else if (!keep.includes(name)) problems.add(`${canonical} is not available here`);
    return match;
  });
  if (problems.size > 0) throw new BootstrapTemplateError([...problems].join('; '));
  return out;
}

/** Values for the pod-start substitutions, used to read a template as a pod would see it. */
const SAMPLE_START: Record<StartSubstitution, string> = {
  podName: 'pod',
  podNamespace: 'namespace',
  podIP: '10.0.0.1',
};

function portsOf(listener: unknown): number[] {
  const l = listener as {
    address?: { socket_address?: { port_value?: unknown } };
    additional_addresses?: { address?: { socket_address?: { port_value?: unknown } } }[];
  };
  const addresses = [l.address, ...(l.additional_addresses ?? []).map((a) => a.address)];
  return addresses.map((a) => Number(a?.socket_address?.port_value)).filter((n) => Number.isInteger(n));
}

/**
 * Checks a template after the compile-time substitutions: it must be one YAML (or JSON) object
 * whose static listeners include one on each required port. Envoy's schema is not checked here (the
 * operator has no Envoy); `sidecar-operator proxy-config bootstrap` prints the result for that.
 */
export function checkTemplate(text: string, required: Readonly<Record<string, number>>): void {
  let doc: unknown;
  try {
    doc = parse(substitute(text, SAMPLE_START), { uniqueKeys: true });
  } catch (err) {
    if (err instanceof BootstrapTemplateError) throw err;
    throw new BootstrapTemplateError(`not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new BootstrapTemplateError('must be an object (an Envoy bootstrap)');
  const listeners = (doc as { static_resources?: { listeners?: unknown } }).static_resources?.listeners;
  const bound = new Set(Array.isArray(listeners) ? listeners.flatMap(portsOf) : []);
  const missing = Object.entries(required).filter(([, port]) => !bound.has(port));
  if (missing.length > 0) {
    const what = missing.map(([name, port]) => `${name} ${port}`).join(', ');
    throw new BootstrapTemplateError(`static_resources.listeners has no listener on the ${what}`);
  }
}
