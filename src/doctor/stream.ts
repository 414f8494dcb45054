import type { KubeConfig } from '@kubernetes/client-node';
import type { CheckResult } from './check.js';
import {
  emptyInputs,
  gatherAdmission,
  gatherCluster,
  gatherOperator,
  gatherProbe,
  gatherTarget,
  type GatherOptions,
} from './gather.js';
import {
  admissionChecks,
  clusterChecks,
  goesOn,
  operatorChecks,
  probeChecks,
  targetChecks,
} from './run-checks.js';

/** Where `streamDoctor` sends results as they come, and what it is waiting for. */
export interface DoctorListener {
  /** One check's result, the moment it is known. */
  result(r: CheckResult): void;
  /** A step starts; the function returned is called when it ends. */
  step?(what: string): () => void;
}

/**
 * Gathers and checks stage by stage (cluster, operator, each policy's webhook, the API server's
 * call, the target), handing each result to the listener as soon as its inputs are in: a webhook
 * that times out holds back only what comes after it. Returns every result, in the order of
 * `runChecks` over the same inputs.
 */
export async function streamDoctor(
  kc: KubeConfig,
  opts: GatherOptions,
  listener: DoctorListener,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const emit = (rs: CheckResult[]): void => {
    for (const r of rs) {
      out.push(r);
      listener.result(r);
    }
  };
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const done = listener.step?.(what);
    try {
      return await run();
    } finally {
      done?.();
    }
  };
  const inputs = emptyInputs(opts.now);
  await step('reaching the API server', () => gatherCluster(kc, inputs));
  emit(clusterChecks(inputs));
  if (!goesOn(inputs)) return out;
  await step('reading the operator, its Lease and its replicas', () => gatherOperator(kc, opts, inputs));
  emit(operatorChecks(inputs));
  for (const policy of inputs.scope) {
    const probe = await step(`probing the webhook of policy ${policy}`, () =>
      gatherProbe(opts, inputs, policy),
    );
    if (!probe) continue;
    inputs.probes.set(policy, probe);
    emit(probeChecks(policy, probe));
  }
  await step('creating a dry-run pod through the API server', () => gatherAdmission(kc, inputs));
  emit(admissionChecks(inputs));
  await step('listing the governed namespaces and their pods', () => gatherTarget(kc, opts, inputs));
  emit(targetChecks(inputs));
  return out;
}
