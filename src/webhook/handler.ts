import { injectPod, type CompiledTemplate, type PatchOperation, type Pod } from '../inject/index.js';
import type { AdmissionRequest, AdmissionResponse } from './codec.js';
import { isObject } from './json.js';

/**
 * How a request ended, for metrics and logs (a closed set: it becomes a metric label).
 * - injected: allowed with a patch; skipped: a pod the engine chose not to inject (reason code);
 * - refused: a pod the engine will not admit (reason code), denied whatever the failurePolicy;
 * - ignored: not a pod CREATE; unknown_policy: the path names no loaded template;
 * - error: an errored response (templates not loaded yet, or a failure), failurePolicy decides.
 */
export type AdmissionResult = 'injected' | 'skipped' | 'refused' | 'ignored' | 'unknown_policy' | 'error';

/** Reasons the handler adds to the engine's reason codes (CamelCase, bounded). */
export const HandlerReasons = {
  NotPod: 'NotPod',
  NotCreate: 'NotCreate',
  UnknownPolicy: 'UnknownPolicy',
  TemplatesNotLoaded: 'TemplatesNotLoaded',
  InternalError: 'InternalError',
} as const;

/**
 * Audit annotation keys. No slash: the API server records them as `<webhook name>/<key>` and drops
 * keys that would then hold two slashes.
 */
export const AuditKeys = {
  skipReason: 'skip-reason',
  refuseReason: 'refuse-reason',
  injected: 'injected-revision',
  unknownPolicy: 'unknown-policy',
} as const;

export interface AdmissionOutcome {
  response: AdmissionResponse;
  result: AdmissionResult;
  reason: string;
  message: string;
  /** The pod's name, or its generateName when the name is not chosen yet. */
  pod?: string;
  namespace?: string;
  revision?: string;
  /** The patch, only when injected, for debug logs. */
  patch?: readonly PatchOperation[];
  /** What the injected pod's author should know (also returned as admission warnings). */
  warnings?: string[];
}

export interface HandlerContext {
  /** Pods in the operator's own namespace are never injected (the injector must start without itself). */
  operatorNamespace: string;
}

/** A shallow copy without managedFields: it can be huge and the engine never needs it. */
function stripManagedFields(obj: Record<string, unknown>): Pod {
  const meta = obj.metadata;
  if (!isObject(meta) || !('managedFields' in meta)) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

function podName(pod: Pod, req: AdmissionRequest): string | undefined {
  return req.name ?? pod.metadata?.name ?? pod.metadata?.generateName;
}

const allow = (uid: string): AdmissionResponse => ({ uid, allowed: true });

/**
 * Skips the pod's author should hear about (kubectl prints admission warnings): the pod asked for
 * nothing unusual, yet it gets no sidecar from this policy because another mesh already has it.
 */
const WARN_ON_SKIP = new Set<string>(['AlreadyMeshed']);

function injectOrSkip(
  policy: string,
  req: AdmissionRequest & { object: Record<string, unknown> },
  template: CompiledTemplate,
  ctx: HandlerContext,
): AdmissionOutcome {
  const pod = stripManagedFields(req.object);
  const namespace = req.namespace ?? pod.metadata?.namespace ?? '';
  const base = { pod: podName(pod, req), namespace, revision: template.revision };
  const result = injectPod(pod, template, { namespace, operatorNamespace: ctx.operatorNamespace });
  const { decision } = result;
  // Each message names its annotation or field first.
  const warnings = result.warnings.map((w) => w.message);
  if (decision.refuse) {
    return {
      ...base,
      result: 'refused',
      reason: decision.reason,
      message: decision.message,
      response: {
        uid: req.uid,
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: `sidecar injector: ${decision.message}` },
        auditAnnotations: { [AuditKeys.refuseReason]: decision.reason },
      },
    };
  }
  if (!decision.inject || result.patch.length === 0) {
    return {
      ...base,
      result: 'skipped',
      reason: decision.reason,
      message: decision.message,
      response: {
        uid: req.uid,
        allowed: true,
        ...(WARN_ON_SKIP.has(decision.reason) ? { warnings: [`sidecar injector: ${decision.message}`] } : {}),
        auditAnnotations: { [AuditKeys.skipReason]: decision.reason },
      },
    };
  }
  return {
    ...base,
    result: 'injected',
    reason: decision.reason,
    message: decision.message,
    patch: result.patch,
    ...(warnings.length > 0 ? { warnings } : {}),
    response: {
      uid: req.uid,
      allowed: true,
      patch: result.patch,
      warnings,
      auditAnnotations: { [AuditKeys.injected]: `${policy}@${template.revision}` },
    },
  };
}

function decide(
  policy: string,
  req: AdmissionRequest,
  templates: ReadonlyMap<string, CompiledTemplate> | undefined,
  ctx: HandlerContext,
): AdmissionOutcome {
  const { kind, resource } = req;
  const isPod = kind.group === '' && kind.kind === 'Pod' && resource.resource === 'pods' && !req.subResource;
  if (!isPod) {
    const what = `${resource.resource}${req.subResource ? `/${req.subResource}` : ''}`;
    return ignored(req, HandlerReasons.NotPod, `${what} is not a pod`);
  }
  if (req.operation !== 'CREATE' || req.object === null)
    return ignored(req, HandlerReasons.NotCreate, `${req.operation} is not a pod creation`);
  if (templates === undefined) {
    // Without templates we cannot tell an unknown policy from a known one: let failurePolicy decide.
    return errored(req, HandlerReasons.TemplatesNotLoaded, 'injection templates are not loaded yet', 503);
  }
  const template = templates.get(policy);
  if (template === undefined) {
    const message = `sidecar policy ${JSON.stringify(policy.slice(0, 63))} is unknown to the injector; pod admitted without a sidecar`;
    return {
      result: 'unknown_policy',
      reason: HandlerReasons.UnknownPolicy,
      message,
      namespace: req.namespace,
      response: {
        uid: req.uid,
        allowed: true,
        warnings: [message],
        auditAnnotations: { [AuditKeys.unknownPolicy]: policy.slice(0, 253) },
      },
    };
  }
  return injectOrSkip(policy, { ...req, object: req.object }, template, ctx);
}

function ignored(req: AdmissionRequest, reason: string, message: string): AdmissionOutcome {
  return { result: 'ignored', reason, message, namespace: req.namespace, response: allow(req.uid) };
}

/**
 * `answer` is what the caller reads, `message` what the log (and the Event) says: an exception's
 * text may quote the template or the pod, and the caller is not necessarily the API server.
 */
function errored(
  req: AdmissionRequest,
  reason: string,
  message: string,
  code = 500,
  answer = message,
): AdmissionOutcome {
  return {
    result: 'error',
    reason,
    message,
    namespace: req.namespace,
    response: { uid: req.uid, allowed: false, status: { code, message: `sidecar injector: ${answer}` } },
  };
}

/**
 * (policy from the path, decoded request, loaded templates) → what to answer. No HTTP in here, and
 * it never throws: a failure becomes an errored response that keeps the request's UID, so the API
 * server applies the webhook's failurePolicy instead of seeing a broken connection.
 *
 * `templates` is undefined until the injector ConfigMap was read once.
 */
export function handleAdmission(
  policy: string,
  req: AdmissionRequest,
  templates: ReadonlyMap<string, CompiledTemplate> | undefined,
  ctx: HandlerContext,
): AdmissionOutcome {
  try {
    return decide(policy, req, templates, ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const answer = `injection failed; the operator's log has the cause under uid ${req.uid}`;
    return errored(req, HandlerReasons.InternalError, `injection failed: ${message}`, 500, answer);
  }
}
