import type { ApiFailure } from '../../kube/index.js';
import type { NamespaceVerdict, RefusingPodSecurity } from '../../status/index.js';
import { webhookName } from '../../render/webhook-configuration.js';
import { POD_SECURITY_ENFORCE_LABEL } from './representative-pod.js';

/** Longest server message kept per namespace (the condition names a few). */
const MAX_MESSAGE = 400;

/**
 * Answers that say nothing about the pod, told apart by the server's words because the API gives
 * them the same status as a refusal (403, 400): our own permission, a namespace without its default
 * ServiceAccount yet (no pod can be created there, ours or anyone's), a namespace being deleted, a
 * webhook that cannot take a dry run.
 */
const NO_VERDICT: readonly { pattern: RegExp; why: string }[] = [
  {
    pattern: /cannot create resource "pods"/,
    why: 'the operator may not create pods here (dry run): grant it create on pods, or turn the check off',
  },
  {
    pattern: /error looking up service account/,
    why: 'the namespace has no such ServiceAccount yet (the controller-manager creates "default"), so no pod is admitted',
  },
  { pattern: /being terminated/, why: 'the namespace is being deleted' },
  {
    pattern: /does not support dry run/,
    why: 'an admission webhook cannot take a dry run (its sideEffects)',
  },
];

/** Pod Security's enforce level on a namespace, when it is one that refuses NET_ADMIN and NET_RAW. */
export function refusingPodSecurity(
  labels: Record<string, string> | undefined,
): RefusingPodSecurity | undefined {
  const level = labels?.[POD_SECURITY_ENFORCE_LABEL];
  return level === 'baseline' || level === 'restricted' ? level : undefined;
}

/**
 * The verdict of one dry-run create: no failure is admitted; admission's refusals (4xx, and a
 * failing webhook call, which the API server answers 500 and which refuses every pod under
 * failurePolicy Fail) are refused with the server's message; anything else (no answer, other 5xx,
 * throttling, the cases above) is unknown and tried again sooner. A failing call to the policy's own
 * webhook is unknown too: it says that no replica answered (the operator starting, scaled to 0),
 * not that the namespace refuses the policy's pods — the operator's health is reported apart.
 */
export function verdictOf(
  failure: ApiFailure | undefined,
  labels: Record<string, string> | undefined,
  policy?: string,
): NamespaceVerdict {
  if (!failure) return { state: 'admitted' };
  const message = failure.message.slice(0, MAX_MESSAGE);
  const known = NO_VERDICT.find((k) => k.pattern.test(failure.message));
  if (known) return { state: 'unknown', message: `${known.why}: ${message}` };
  const webhookCall = failure.code === 500 && /failed calling webhook/.test(failure.message);
  if (webhookCall && policy !== undefined && failure.message.includes(`webhook "${webhookName(policy)}"`))
    return { state: 'unknown', message: `the operator's own webhook did not answer: ${message}` };
  const admission =
    failure.code >= 400 && failure.code < 500 && ![401, 404, 408, 409, 429].includes(failure.code);
  if (!admission && !webhookCall) {
    const what = failure.code ? `${failure.code} ${failure.reason}` : 'no answer';
    return { state: 'unknown', message: `${what}: ${message}` };
  }
  const level = refusingPodSecurity(labels);
  return level && /PodSecurity/.test(failure.message)
    ? { state: 'refused', message, podSecurity: level }
    : { state: 'refused', message };
}
