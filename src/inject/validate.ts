/**
 * Offline checks for what the API server would otherwise refuse: a policy against the CRD's
 * openAPIV3Schema (types, enums, ranges, lengths, patterns, required and unknown fields; CEL rules are
 * left to the API server), and the shape of a pod the engine is about to read. Each returns the first
 * problem as `field: reason`, or undefined (`schemaProblems`: all of them).
 */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function scalarProblem(v: unknown, s: Schema): string | undefined {
  if (s.enum && !s.enum.includes(v))
    return `must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return `must be at least ${s.minimum}`;
    if (s.maximum !== undefined && v > s.maximum) return `must be at most ${s.maximum}`;
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength)
      return `must be at least ${s.minLength} characters`;
    if (s.maxLength !== undefined && v.length > s.maxLength)
      return `must be at most ${s.maxLength} characters`;
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) return `must match ${s.pattern}`;
  }
  return undefined;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** The first way `value` breaks `schema`, as `path: reason`. */
export function schemaProblem(value: unknown, schema: Schema, path: string): string | undefined {
  return schemaProblems(value, schema, path)[0];
}

/**
 * Every way `value` breaks `schema`, as `path: reason`, in document order (as the API server lists
 * them); below a field of the wrong type nothing more is reported.
 */
export function schemaProblems(value: unknown, schema: Schema, path: string): string[] {
  const out: string[] = [];
  collect(value, schema, path, out);
  return out;
}

function collect(value: unknown, schema: Schema, path: string, out: string[]): void {
  const at = (reason: string): void => void out.push(`${path || '(root)'}: ${reason}`);
  const t = typeOf(value);
  if (schema['x-kubernetes-int-or-string'] || schema.anyOf) {
    if (t !== 'integer' && t !== 'string') return at('must be an integer or a string');
  } else if (schema.type !== undefined) {
    const ok = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!ok)
      return at(
        `must be ${schema.type === 'integer' || schema.type === 'array' ? 'an' : 'a'} ${schema.type}`,
      );
  }
  const scalar = scalarProblem(value, schema);
  if (scalar) at(scalar);
  if (t === 'array') arrayProblems(value as unknown[], schema, path, out);
  if (t === 'object') objectProblems(value as Record<string, unknown>, schema, path, out);
}

function arrayProblems(v: unknown[], s: Schema, path: string, out: string[]): void {
  if (s.maxItems !== undefined && v.length > s.maxItems)
    out.push(`${path || '(root)'}: must have at most ${s.maxItems} items`);
  if (!s.items) return;
  for (const [i, item] of v.entries()) collect(item, s.items, join(path, i), out);
}

function objectProblems(v: Record<string, unknown>, s: Schema, path: string, out: string[]): void {
  if (s.maxProperties !== undefined && Object.keys(v).length > s.maxProperties)
    out.push(`${path || '(root)'}: must have at most ${s.maxProperties} entries`);
  for (const r of s.required ?? []) if (v[r] === undefined) out.push(`${join(path, r)}: required`);
  for (const [key, child] of Object.entries(v)) {
    const sub =
      s.properties?.[key] ??
      (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (!sub) {
      if (s.properties && !s['x-kubernetes-preserve-unknown-fields'])
        out.push(`${join(path, key)}: unknown field`);
      continue;
    }
    collect(child, sub, join(path, key), out);
  }
}

/** What the engine needs of a pod (spec) to read it: containers with names. */
export function podSpecProblem(spec: unknown, path: string): string | undefined {
  if (typeOf(spec) !== 'object') return `${path}: must be an object`;
  const s = spec as Record<string, unknown>;
  for (const list of ['containers', 'initContainers', 'volumes']) {
    const v = s[list];
    if ((v === undefined || v === null) && list !== 'containers') continue;
    if (!Array.isArray(v)) return `${path}.${list}: must be a list`;
    for (const [i, item] of v.entries()) {
      if (typeOf(item) !== 'object' || typeof (item as { name?: unknown }).name !== 'string') {
        return `${path}.${list}[${i}].name: required`;
      }
    }
  }
  return undefined;
}

/** A YAML 1.1 reading of a plain scalar that is not a string: worth naming in the message. */
function describeNonString(v: unknown): string {
  if (typeof v === 'boolean' || typeof v === 'number' || v === null)
    return `${JSON.stringify(v)}: YAML reads it as a ${v === null ? 'null' : typeof v}; quote it`;
  return typeOf(v);
}

/** What the engine reads of an object's metadata: string maps of labels and annotations. */
export function metadataProblem(meta: unknown, path: string): string | undefined {
  if (meta === undefined || meta === null) return undefined;
  if (typeOf(meta) !== 'object') return `${path}: must be an object`;
  const m = meta as Record<string, unknown>;
  if (m.namespace !== undefined && typeof m.namespace !== 'string')
    return `${path}.namespace: must be a string`;
  for (const map of ['labels', 'annotations']) {
    const v = m[map];
    if (v === undefined || v === null) continue;
    if (typeOf(v) !== 'object') return `${path}.${map}: must be a map of strings`;
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (typeof value !== 'string')
        return `${path}.${map}.${key}: must be a string, not ${describeNonString(value)}`;
    }
  }
  return undefined;
}
