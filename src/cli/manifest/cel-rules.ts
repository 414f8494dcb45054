import { Environment } from '@marcbachmann/cel-js';
import { parseQuantity } from '../../inject/compile-checks.js';
import { parseCidr } from '../../iptables/address.js';

/** The part of a CRD schema node the rules need. */
export interface RuleSchema {
  properties?: Record<string, RuleSchema>;
  items?: RuleSchema;
  additionalProperties?: RuleSchema | boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string }[];
}

/** Kubernetes' isCIDR (its CEL network library): an address and a prefix length, nothing else. */
function isCIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0 || /\s/.test(s) || !/^(0|[1-9]\d{0,2})$/.test(s.slice(slash + 1))) return false;
  const c = parseCidr(s);
  return typeof c !== 'string';
}

/** Kubernetes' CEL quantity (its resource library), as an exact fraction. */
class Quantity {
  constructor(
    readonly n: bigint,
    readonly d: bigint,
  ) {}
}

function quantity(s: string): Quantity {
  const q = parseQuantity(s);
  if (!q) throw new Error(`quantity: ${JSON.stringify(s)} is not a quantity`);
  return new Quantity(q.n, q.d);
}

function compareTo(a: Quantity, b: Quantity): bigint {
  const diff = a.n * b.d - b.n * a.d;
  return diff > 0n ? 1n : diff < 0n ? -1n : 0n;
}

const env = new Environment()
  .registerType('Quantity', Quantity)
  .registerVariable('self', 'dyn')
  .registerFunction('isCIDR(string): bool', isCIDR)
  .registerFunction('isQuantity(string): bool', (s: string) => parseQuantity(s) !== undefined)
  .registerFunction('quantity(string): Quantity', quantity)
  .registerFunction({
    name: 'compareTo',
    receiverType: 'Quantity',
    returnType: 'int',
    params: [{ name: 'other', type: 'Quantity' }],
    handler: compareTo,
  })
  .registerFunction({
    name: 'asApproximateFloat',
    receiverType: 'Quantity',
    returnType: 'double',
    params: [],
    handler: (q: Quantity) => Number(q.n) / Number(q.d),
  })
  // Kubernetes' list library: the sum of a list of integers (0 for an empty list).
  .registerFunction({
    name: 'sum',
    receiverType: 'list<int>',
    returnType: 'int',
    params: [],
    handler: (l: bigint[]) => l.reduce((a, b) => a + b, 0n),
  });

/** CEL's integers are 64-bit: JSON's whole numbers become BigInt, as the API server reads them. */
function toCel(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`;
}

/**
 * The CRD's `x-kubernetes-validations` rules evaluated offline on a (defaulted) value, as the API
 * server evaluates them: each rule on each node present, `self` bound to the node; a failed rule
 * reads `path: message` (its fieldPath appended), a rule that cannot be evaluated says so.
 */
export function celProblems(value: unknown, schema: RuleSchema, path: string): string[] {
  const out: string[] = [];
  walk(value, schema, path, out);
  return out;
}

function walk(value: unknown, schema: RuleSchema, path: string, out: string[]): void {
  if (value === undefined || value === null) return;
  for (const r of schema['x-kubernetes-validations'] ?? []) {
    let ok: unknown;
    try {
      ok = env.evaluate(r.rule, { self: toCel(value) });
    } catch (err) {
      out.push(
        `${path}: rule ${JSON.stringify(r.rule)} could not be evaluated: ${(err as Error).message.split('\n')[0]}`,
      );
      continue;
    }
    if (ok !== true) out.push(`${path}${r.fieldPath ?? ''}: ${r.message ?? `failed rule: ${r.rule}`}`);
  }
  if (Array.isArray(value)) {
    if (schema.items) for (const [i, item] of value.entries()) walk(item, schema.items, join(path, i), out);
    return;
  }
  if (typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const sub =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) walk(child, sub, join(path, key), out);
  }
}
