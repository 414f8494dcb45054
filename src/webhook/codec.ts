import type { PatchOperation } from '../inject/index.js';
import { MAX_NAME_LENGTH, readPod } from './pod-shape.js';
import { isObject, type JsonObject } from './json.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The parts of an AdmissionRequest (admission.k8s.io/v1) the handler reads, validated. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  operation: Operation;
  namespace?: string;
  name?: string;
  /** The object being admitted; a JSON object for CREATE and UPDATE, possibly null otherwise. */
  object: Record<string, unknown> | null;
  dryRun: boolean;
}

export type DecodeResult = { ok: true; request: AdmissionRequest } | { ok: false; reason: string };

/** What the handler decided, before encoding. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  /** RFC 6902 operations; omitted from the answer when empty. */
  patch?: readonly PatchOperation[];
  warnings?: string[];
  /** Keys without a slash: the API server prefixes them with the webhook's name. */
  auditAnnotations?: Record<string, string>;
  /** For denials and errored responses (metav1.Status fields). */
  status?: { code: number; message: string; reason?: string };
}

type Json = JsonObject;

/** Every string of the request part names something: none is longer than a Kubernetes name may be. */
const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME_LENGTH;
const optString = (v: unknown): v is string | undefined => v === undefined || isName(v);

function readGvk(v: unknown): GroupVersionKind | undefined {
  if (!isObject(v)) return undefined;
  const { group = '', version, kind } = v;
  if (!isName(group) || !isName(version) || !isName(kind)) return undefined;
  if (version === '' || kind === '') return undefined;
  return { group, version, kind };
}

function readGvr(v: unknown): GroupVersionResource | undefined {
  if (!isObject(v)) return undefined;
  const { group = '', version, resource } = v;
  if (!isName(group) || !isName(version) || !isName(resource)) return undefined;
  if (version === '' || resource === '') return undefined;
  return { group, version, resource };
}

/** Either names a core pod; the handler only injects when both do, so check the object if either does. */
const isPodKind = (kind: GroupVersionKind, resource: GroupVersionResource): boolean =>
  (kind.group === '' && kind.kind === 'Pod') || (resource.group === '' && resource.resource === 'pods');

/**
 * CREATE and UPDATE carry the object; DELETE and CONNECT may send null. A pod is checked against
 * the shape the injector reads before any of it is used.
 */
function objectProblem(operation: string, object: unknown, pod: boolean): string | undefined {
  const required = operation === 'CREATE' || operation === 'UPDATE';
  if (!isObject(object)) {
    if (required || (object !== undefined && object !== null))
      return `request.object must be an object for ${operation}`;
    return undefined;
  }
  if (!pod) return undefined;
  const read = readPod(object);
  return typeof read === 'string' ? read : undefined;
}

/** Validates the request part; the first problem found is the reason. */
function readRequest(req: unknown): AdmissionRequest | string {
  if (!isObject(req)) return 'request is missing';
  const { uid, operation, object, namespace, name, subResource, dryRun } = req;
  if (typeof uid !== 'string' || uid === '') return 'request.uid is missing';
  if (!isName(uid)) return `request.uid is longer than ${MAX_NAME_LENGTH} characters`;
  const kind = readGvk(req.kind);
  if (!kind) return 'request.kind must name a group, version and kind';
  const resource = readGvr(req.resource);
  if (!resource) return 'request.resource must name a group, version and resource';
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation))
    return `request.operation must be one of ${OPERATIONS.join(', ')}`;
  if (!optString(namespace) || !optString(name) || !optString(subResource))
    return `request.namespace, name and subResource must be strings of at most ${MAX_NAME_LENGTH} characters`;
  if (dryRun !== undefined && typeof dryRun !== 'boolean') return 'request.dryRun must be a boolean';
  const problem = objectProblem(operation, object, isPodKind(kind, resource));
  if (problem !== undefined) return problem;
  return {
    uid,
    kind,
    resource,
    operation: operation as Operation,
    object: isObject(object) ? object : null,
    dryRun: dryRun === true,
    ...(subResource ? { subResource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/**
 * Body → validated request, or the reason it is not an AdmissionReview v1 request. Never throws:
 * the reason goes back to the caller as a 400.
 */
export function decodeAdmissionReview(body: string): DecodeResult {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: `body is not JSON: ${(err as Error).message}` };
  }
  if (!isObject(review)) return { ok: false, reason: 'body is not a JSON object' };
  if (review.apiVersion !== ADMISSION_API_VERSION)
    return { ok: false, reason: `apiVersion must be ${ADMISSION_API_VERSION}` };
  if (review.kind !== ADMISSION_KIND) return { ok: false, reason: `kind must be ${ADMISSION_KIND}` };
  const request = readRequest(review.request);
  return typeof request === 'string' ? { ok: false, reason: request } : { ok: true, request };
}

/** Response → the AdmissionReview JSON the API server expects (the patch base64 encoded). */
export function encodeAdmissionReview(res: AdmissionResponse): string {
  const response: Json = { uid: res.uid, allowed: res.allowed };
  if (res.patch && res.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(res.patch)).toString('base64');
  }
  if (res.warnings && res.warnings.length > 0) response.warnings = res.warnings;
  if (res.auditAnnotations && Object.keys(res.auditAnnotations).length > 0)
    response.auditAnnotations = res.auditAnnotations;
  if (res.status) response.status = res.status;
  return JSON.stringify({ apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response });
}
