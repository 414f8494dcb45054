import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs, ReplicaReadiness } from './inputs.js';

/** Seconds past a Lease's term before its holder counts as gone: renewals and clocks are not exact. */
export const LEASE_SLACK_SECONDS = 5;
/** The term the operator uses when a Lease does not say (its --lease-duration default). */
const DEFAULT_TERM_SECONDS = 15;

/**
 * The leader Lease: someone holds it, and renewed it within its term. A Deployment can be fully
 * ready while its leader is frozen (SIGSTOP, a stuck event loop) or cut off from the API server:
 * the webhook still answers, but nothing reconciles policies, namespaces or certificates.
 */
export function checkLeader(inputs: DoctorInputs): CheckResult | undefined {
  const l = inputs.lease;
  if (!l) return undefined;
  const name = 'operator-leader';
  const where = `Lease ${l.namespace}/${l.name}`;
  const pods = `kubectl -n ${l.namespace} get pods -l app.kubernetes.io/name=sidecar-operator`;
  if (l.error !== undefined)
    return warn(
      'SO116',
      name,
      `cannot read the ${where}: ${l.error}`,
      'run doctor with rights to get leases',
    );
  if (!l.found)
    return warn(
      'SO116',
      name,
      `no ${where}: no replica has led yet, or the operator runs without leader election (--leader-elect=false)`,
      `check the operator pods (${pods}) and logs; pass --lease-name if leaderElection.leaseName differs`,
    );
  if (l.holder === undefined)
    return fail(
      'SO116',
      name,
      `the ${where} is held by no one: no replica leads, so nothing reconciles policies, namespaces or certificates`,
      `check that the operator runs (${pods}) and its logs`,
    );
  const term = l.durationSeconds ?? DEFAULT_TERM_SECONDS;
  if (!l.renewTime)
    return fail(
      'SO117',
      name,
      `leader ${l.holder} has never renewed the ${where}`,
      `kubectl -n ${l.namespace} get lease ${l.name} -o yaml`,
    );
  const age = Math.max(0, Math.round((inputs.now.getTime() - l.renewTime.getTime()) / 1000));
  if (age > term + LEASE_SLACK_SECONDS)
    return fail(
      'SO117',
      name,
      `leader ${l.holder} has not renewed the ${where} for ${age}s (its term is ${term}s): frozen or partitioned; nothing reconciles until another replica takes the Lease`,
      `find the replica ${l.holder} (${pods}) and read its logs; if it is stuck, delete its pod: another replica takes over once the Lease expires`,
    );
  return pass(name, `${l.holder} leads (the ${where} was renewed ${age}s ago; its term is ${term}s)`);
}

/** The API server's own Status (JSON) rather than the pod's answer: the proxy could not reach the pod. */
function proxyFailure(r: ReplicaReadiness): string | undefined {
  if (r.httpStatus === undefined || r.httpStatus === 200 || !r.body?.startsWith('{')) return undefined;
  try {
    const s = JSON.parse(r.body) as { kind?: string; message?: string };
    return s.kind === 'Status' ? (s.message ?? `HTTP ${r.httpStatus}`) : undefined;
  } catch {
    // Cut at 200 characters: a Status message that long is still the API server's.
    return r.body.includes('"kind":"Status"') ? `HTTP ${r.httpStatus}` : undefined;
  }
}

/**
 * /readyz of each operator pod, read through the API server's pods proxy (what the kubelet reads):
 * 200 once the replica loaded its templates and certificate. Skipped, saying so, when no pod of the
 * operator exists (it runs outside the cluster, or is scaled to 0).
 */
export function checkReplicaReadiness(inputs: DoctorInputs): CheckResult[] {
  const w = inputs.workload;
  if (!w || w.deployments.length === 0) return [];
  const ns = inputs.operatorNamespace ?? '';
  const replicas = w.replicas ?? [];
  if (replicas.length === 0)
    return [
      pass(
        'operator-readyz',
        `not checked: no pod of the operator's Deployment${w.deployments.length > 1 ? 's' : ''} exists in ${ns}`,
      ),
    ];
  const ok = replicas.filter((r) => r.httpStatus === 200).length;
  return replicas.map((r) => {
    const name = `operator-readyz:${r.pod}`;
    const logs = `kubectl -n ${ns} logs ${r.pod}`;
    if (r.httpStatus === 200) return pass(name, `/readyz answered 200 through the API server's pods proxy`);
    const unreachable = r.error ?? proxyFailure(r);
    if (unreachable !== undefined)
      return warn(
        'SO119',
        name,
        `/readyz of pod ${ns}/${r.pod} cannot be read through the API server's pods proxy: ${unreachable}`,
        `kubectl -n ${ns} describe pod ${r.pod}`,
      );
    const said = r.body ? `: ${r.body}` : '';
    const how = `pod ${ns}/${r.pod} is not ready: /readyz answered ${r.httpStatus}${said}`;
    return ok > 0
      ? warn('SO118', name, `${how}; ${ok} other replica(s) are`, logs)
      : fail('SO118', name, `${how}; no replica is ready to serve the webhook`, logs);
  });
}
