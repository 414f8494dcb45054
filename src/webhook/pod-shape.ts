import type { Pod } from '../inject/index.js';
import { isObject, type JsonObject } from './json.js';

/**
 * Bounds on the parts of a pod the injector reads. Each is far above what the API server stores,
 * so no pod it would accept is refused here; they exist so that no caller can make one request cost
 * more than a fixed amount per byte further in.
 *
 * - Names (pod, generateName, namespace, containers, volumes): the API allows 253 characters at most.
 * - Label and annotation keys: a 253-character prefix, `/` and a 63-character name, 317 in all.
 * - Label values: 63 characters.
 * - Annotations: 256 KiB of keys and values together.
 * - Counts: the API sets none, but etcd stores at most 1.5 MiB per object, which holds fewer than
 *   230,000 map entries (`"k":"",` is 7 bytes) or 125,000 named list items (`{"name":"a"},`).
 */
export const MAX_NAME_LENGTH = 1024;
export const MAX_KEY_LENGTH = 1024;
export const MAX_LABEL_VALUE_LENGTH = 1024;
export const MAX_ANNOTATIONS_SIZE = 1024 * 1024;
export const MAX_MAP_ENTRIES = 262_144;
export const MAX_LIST_ITEMS = 131_072;

type Json = JsonObject;
/** A problem: where (a JSON path) and what. */
type Problem = string;

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** "not a string", "not an array"…, or "is missing". */
const got = (v: unknown): string => (v === undefined ? 'is missing' : `not ${kindOf(v)}`);

/** A map key in a path, cut short: the reason must never echo a caller's megabytes back. */
function keyPath(path: string, key: string): string {
  const shown = key.length > 63 ? `${key.slice(0, 60)}...` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

function optString(v: unknown, path: string, max = Infinity): Problem | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') return `${path}: must be a string, ${got(v)}`;
  if (v.length > max) return `${path}: ${v.length} characters, more than ${max}`;
  return undefined;
}

function optInteger(v: unknown, path: string): Problem | undefined {
  if (v === undefined || Number.isSafeInteger(v)) return undefined;
  return `${path}: must be an integer, ${got(v)}`;
}

function optBoolean(v: unknown, path: string): Problem | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  return `${path}: must be a boolean, ${got(v)}`;
}

interface MapBounds {
  maxValue: number;
  /** Keys and values together, in characters. */
  maxTotal: number;
}

/** A map of strings: one pass over its entries, stopping at the first problem. */
function optStringMap(v: unknown, path: string, bounds: MapBounds): Problem | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return `${path}: must be a map of strings, ${got(v)}`;
  let count = 0;
  let total = 0;
  for (const key of Object.keys(v)) {
    if (++count > MAX_MAP_ENTRIES) return `${path}: more than ${MAX_MAP_ENTRIES} entries`;
    if (key.length > MAX_KEY_LENGTH)
      return `${path}: a key of ${key.length} characters, more than ${MAX_KEY_LENGTH}`;
    const value = v[key];
    if (typeof value !== 'string') return `${keyPath(path, key)}: must be a string, ${got(value)}`;
    if (value.length > bounds.maxValue)
      return `${keyPath(path, key)}: ${value.length} characters, more than ${bounds.maxValue}`;
    total += key.length + value.length;
    if (total > bounds.maxTotal) return `${path}: more than ${bounds.maxTotal} characters in all`;
  }
  return undefined;
}

/** An array of objects, each checked by `item`. */
function optList(
  v: unknown,
  path: string,
  item: (o: Json, path: string) => Problem | undefined,
): Problem | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return `${path}: must be an array, ${got(v)}`;
  if (v.length > MAX_LIST_ITEMS) return `${path}: ${v.length} items, more than ${MAX_LIST_ITEMS}`;
  for (let i = 0; i < v.length; i++) {
    const el: unknown = v[i];
    const at = `${path}[${i}]`;
    if (!isObject(el)) return `${at}: must be an object, ${got(el)}`;
    const problem = item(el, at);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The first problem among checks run in order (each one cheap and bounded). */
function first(...checks: (() => Problem | undefined)[]): Problem | undefined {
  for (const check of checks) {
    const problem = check();
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function optObject(
  v: unknown,
  path: string,
  fields: (o: Json, path: string) => Problem | undefined,
): Problem | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return `${path}: must be an object, ${got(v)}`;
  return fields(v, path);
}

const named = (o: Json, path: string): Problem | undefined => {
  if (typeof o.name !== 'string') return `${path}.name: must be a string, ${got(o.name)}`;
  return optString(o.name, `${path}.name`, MAX_NAME_LENGTH);
};

const securityContext = (o: Json, path: string): Problem | undefined =>
  first(
    () => optInteger(o.runAsUser, `${path}.runAsUser`),
    () => optInteger(o.runAsGroup, `${path}.runAsGroup`),
  );

const port = (o: Json, path: string): Problem | undefined =>
  first(
    () =>
      Number.isSafeInteger(o.containerPort)
        ? undefined
        : `${path}.containerPort: must be an integer, ${got(o.containerPort)}`,
    () => optString(o.protocol, `${path}.protocol`),
  );

const envVar = (o: Json, path: string): Problem | undefined =>
  typeof o.name === 'string' ? undefined : `${path}.name: must be a string, ${got(o.name)}`;

const container = (o: Json, path: string): Problem | undefined =>
  first(
    () => named(o, path),
    () => optString(o.image, `${path}.image`),
    () => optString(o.restartPolicy, `${path}.restartPolicy`),
    () => optList(o.ports, `${path}.ports`, port),
    () => optList(o.env, `${path}.env`, envVar),
    () => optObject(o.securityContext, `${path}.securityContext`, securityContext),
  );

const ownerReference = (o: Json, path: string): Problem | undefined =>
  first(
    () => optString(o.apiVersion, `${path}.apiVersion`),
    () => optString(o.kind, `${path}.kind`),
    () => optString(o.name, `${path}.name`, MAX_NAME_LENGTH),
    () => optString(o.uid, `${path}.uid`),
    () => optBoolean(o.controller, `${path}.controller`),
  );

const metadata = (o: Json, path: string): Problem | undefined =>
  first(
    () => optString(o.name, `${path}.name`, MAX_NAME_LENGTH),
    () => optString(o.generateName, `${path}.generateName`, MAX_NAME_LENGTH),
    () => optString(o.namespace, `${path}.namespace`, MAX_NAME_LENGTH),
    () =>
      optStringMap(o.labels, `${path}.labels`, {
        maxValue: MAX_LABEL_VALUE_LENGTH,
        maxTotal: Infinity,
      }),
    () =>
      optStringMap(o.annotations, `${path}.annotations`, {
        maxValue: MAX_ANNOTATIONS_SIZE,
        maxTotal: MAX_ANNOTATIONS_SIZE,
      }),
    () => optList(o.ownerReferences, `${path}.ownerReferences`, ownerReference),
  );

const spec = (o: Json, path: string): Problem | undefined =>
  first(
    () =>
      Array.isArray(o.containers) ? undefined : `${path}.containers: must be an array, ${got(o.containers)}`,
    () => optList(o.containers, `${path}.containers`, container),
    () => optList(o.initContainers, `${path}.initContainers`, container),
    () => optList(o.volumes, `${path}.volumes`, named),
    () => optBoolean(o.hostNetwork, `${path}.hostNetwork`),
    () => optObject(o.securityContext, `${path}.securityContext`, securityContext),
  );

/**
 * The pod, typed, or the first place where it is not the shape the injector reads (a JSON path and
 * what is wrong). Only the fields the injector and the Event target read are checked; everything
 * else is carried through untouched. One pass, no recursion beyond the fixed shape: the cost is at
 * most linear in the size of the parsed body.
 */
export function readPod(object: Json, path = 'request.object'): Pod | Problem {
  const problem = first(
    () => optObject(object.metadata, `${path}.metadata`, metadata),
    () => optObject(object.spec, `${path}.spec`, spec),
  );
  return problem ?? object;
}
