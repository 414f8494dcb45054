import { isPolicyLabelValue, type EnvVar, type LabelSelector } from '../api/index.js';
import type { DefaultedSpec } from './policy-spec.js';

/**
 * What the CRD's rules refuse, checked again where a policy is compiled: a policy stored before those
 * rules existed, or read from a file by `inject`, must fail here (its TemplateRendered condition False,
 * naming the field) rather than produce pods the API server refuses or that never start. The
 * expressions match the CRD's (a test compares them).
 */

/** An image reference, [registry[:port]/]name[:tag][@digest], as the container runtimes parse it. */
export const IMAGE_REFERENCE =
  /^((([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(:[0-9]+)?\/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(\/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

/** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;

/** A label value (at most 63 characters, checked apart). */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kubernetes' resource quantity syntax. */
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([KMGTPE]i)|([numkMGTPE])|[eE]([+-]?[0-9]+))?$/;

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A quantity as an exact fraction (numerator, positive denominator), or undefined if it is none. */
export function parseQuantity(q: number | string): { n: bigint; d: bigint } | undefined {
  if (typeof q === 'number') return Number.isInteger(q) ? { n: BigInt(q), d: 1n } : undefined;
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const [, sign, number, binary, decimal, exponent] = m;
  const [whole, fraction = ''] = number!.split('.');
  let n = BigInt(`${whole || '0'}${fraction}`) * (sign === '-' ? -1n : 1n);
  let d = 10n ** BigInt(fraction.length);
  if (binary) n *= 2n ** BigInt(BINARY[binary]!);
  const exp = decimal ? DECIMAL[decimal]! : exponent ? Number(exponent) : 0;
  // Beyond this the API server refuses the quantity anyway; it keeps 10 ** exp bounded.
  if (Math.abs(exp) > 100) return undefined;
  if (exp >= 0) n *= 10n ** BigInt(exp);
  else d *= 10n ** BigInt(-exp);
  return { n, d };
}

/** Throws an Error naming the first field that would make every injected pod fail. */
export function checkPolicy(name: string, spec: DefaultedSpec): void {
  const problem = policyProblem(name, spec);
  if (problem !== undefined) throw new Error(problem);
}

/** The first such field, as `field: reason`, or undefined. */
export function policyProblem(name: string, spec: DefaultedSpec): string | undefined {
  return (
    nameProblem(name) ??
    imageProblem('proxy.image', spec.proxy.image) ??
    (spec.init.image === undefined ? undefined : imageProblem('init.image', spec.init.image)) ??
    resourcesProblem('proxy.resources', spec.proxy.resources) ??
    resourcesProblem('init.resources', spec.init.resources) ??
    envProblem(spec.proxy.env) ??
    selectorProblem('selector.namespaceSelector', spec.selector.namespaceSelector) ??
    selectorProblem('selector.podSelector', spec.selector.podSelector)
  );
}

function nameProblem(name: string): string | undefined {
  if (!isPolicyLabelValue(name))
    return `metadata.name: ${JSON.stringify(name)} must be at most 63 characters: it is the value of the namespace label sidecar.dev/policy`;
  return undefined;
}

function imageProblem(field: string, image: string): string | undefined {
  if (IMAGE_REFERENCE.test(image)) return undefined;
  return `${field}: ${JSON.stringify(image)} is not an image reference, [registry[:port]/]name[:tag][@digest], with a lowercase name and no whitespace`;
}

type Quantities = Record<string, number | string> | undefined;

function resourcesProblem(
  field: string,
  resources: { requests?: Quantities; limits?: Quantities } | undefined,
): string | undefined {
  const parsed: Record<string, Record<string, { n: bigint; d: bigint }>> = {};
  for (const kind of ['requests', 'limits'] as const) {
    parsed[kind] = {};
    for (const [resource, q] of Object.entries(resources?.[kind] ?? {})) {
      const v = parseQuantity(q);
      if (!v) return `${field}.${kind}.${resource}: ${JSON.stringify(q)} is not a quantity`;
      if (v.n < 0n) return `${field}.${kind}.${resource}: ${JSON.stringify(q)} must not be negative`;
      parsed[kind][resource] = v;
    }
  }
  for (const [resource, limit] of Object.entries(parsed.limits!)) {
    const request = parsed.requests![resource];
    if (request && request.n * limit.d > limit.n * request.d)
      return `${field}.requests.${resource}: ${JSON.stringify(resources?.requests?.[resource])} is above the limit ${JSON.stringify(resources?.limits?.[resource])}`;
  }
  return undefined;
}

const SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const;

function envProblem(env: readonly EnvVar[] | undefined): string | undefined {
  for (const [i, e] of (env ?? []).entries()) {
    if (e.valueFrom === undefined) continue;
    const field = `proxy.env[${i}].valueFrom`;
    const set = SOURCES.filter((s) => (e.valueFrom as Record<string, unknown>)[s] !== undefined);
    if (set.length !== 1)
      return `${field}: must set exactly one of ${SOURCES.join(', ')} (${set.length === 0 ? 'none' : set.join(', ')} set)`;
    if (e.value !== undefined && e.value !== '') return `${field}: must not be set together with value`;
  }
  return undefined;
}

function labelKeyProblem(field: string, key: string): string | undefined {
  if (key.length <= 317 && key.indexOf('/') <= 253 && LABEL_KEY.test(key)) return undefined;
  return `${field}: ${JSON.stringify(key)} is not a label key`;
}

function labelValueProblem(field: string, value: string): string | undefined {
  if (value.length <= 63 && LABEL_VALUE.test(value)) return undefined;
  return `${field}: ${JSON.stringify(value)} is not a label value`;
}

function selectorProblem(field: string, selector: LabelSelector | undefined): string | undefined {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    const p =
      labelKeyProblem(`${field}.matchLabels`, key) ??
      labelValueProblem(`${field}.matchLabels[${key}]`, value);
    if (p) return p;
  }
  for (const [i, r] of (selector?.matchExpressions ?? []).entries()) {
    const at = `${field}.matchExpressions[${i}]`;
    const p =
      labelKeyProblem(`${at}.key`, r.key) ??
      (r.values ?? []).map((v, j) => labelValueProblem(`${at}.values[${j}]`, v)).find((x) => x);
    if (p) return p;
  }
  return undefined;
}
