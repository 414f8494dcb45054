import { checkNamespacePodSecurity, checkPodsAdmissible } from './admission-checks.js';
import { fail, type CheckResult } from './check.js';
import { checkCertificateExpiry } from './certificate-checks.js';
import {
  checkAdmissionApi,
  checkCrd,
  checkOperatorNamespace,
  checkPolicies,
  checkServerVersion,
} from './cluster-checks.js';
import { checkGovernedPods, checkUnlistedCounts } from './governed-pods-checks.js';
import type { DoctorInputs, WebhookProbe } from './inputs.js';
import { checkOtherMeshes } from './mesh-checks.js';
import { checkNamespace } from './namespace-checks.js';
import { checkLeader, checkReplicaReadiness } from './operator-checks.js';
import { checkPod } from './pod-checks.js';
import { checkProxyConfig } from './proxy-checks.js';
import { checkOperatorWorkload, checkSidecarRuntime } from './runtime-checks.js';
import {
  checkAdmissionPlugin,
  checkCaBundle,
  checkReview,
  checkWebhookConfigurations,
} from './webhook-checks.js';

const present = (...rs: (CheckResult | undefined)[]): CheckResult[] =>
  rs.filter((r): r is CheckResult => r !== undefined);

/*
 * The checks in stages, each a pure function of what its stage (and those before) gathered, so that
 * `doctor` prints a stage's results while the next one is still gathering. `runChecks` is the same
 * sequence over inputs gathered whole.
 */

/** The API server, its admission API, the CRD. Nothing else runs without them (see `goesOn`). */
export function clusterChecks(inputs: DoctorInputs): CheckResult[] {
  if (inputs.connectError !== undefined)
    return [
      fail(
        'SO101',
        'api-server',
        `cannot reach the API server: ${inputs.connectError}`,
        'check --kubeconfig / the current context (kubectl cluster-info)',
      ),
    ];
  return [checkServerVersion(inputs), checkAdmissionApi(inputs), checkCrd(inputs)];
}

/** Whether the stages after the cluster's have anything to look at. */
export const goesOn = (inputs: DoctorInputs): boolean =>
  inputs.connectError === undefined && inputs.crdInstalled;

/** The operator: its templates, Deployment, leader, replicas' /readyz; then the policies it reconciles. */
export function operatorChecks(inputs: DoctorInputs): CheckResult[] {
  return [
    checkOperatorNamespace(inputs),
    ...present(checkOperatorWorkload(inputs), checkLeader(inputs)),
    ...checkReplicaReadiness(inputs),
    ...checkPolicies(inputs),
    ...checkWebhookConfigurations(inputs),
  ];
}

/** One policy's webhook, as probed: the caBundle against the served certificate, a dry-run review. */
export function probeChecks(policy: string, probe: WebhookProbe): CheckResult[] {
  return [checkCaBundle(policy, probe), checkReview(policy, probe)];
}

/** The API server calling the webhook (a dry-run pod create), and the certificates' expiry. */
export function admissionChecks(inputs: DoctorInputs): CheckResult[] {
  return [...(inputs.scope.length > 0 ? [checkAdmissionPlugin(inputs)] : []), checkCertificateExpiry(inputs)];
}

/** What the policies govern: admission verdicts, the namespace, other meshes, the pods, the --pod. */
export function targetChecks(inputs: DoctorInputs): CheckResult[] {
  return [
    ...checkPodsAdmissible(inputs),
    ...present(checkNamespace(inputs), checkNamespacePodSecurity(inputs)),
    ...checkOtherMeshes(inputs.mesh, inputs.policies),
    ...checkGovernedPods(inputs),
    ...checkUnlistedCounts(inputs),
    ...present(checkPod(inputs), checkProxyConfig(inputs), checkSidecarRuntime(inputs)),
  ];
}

/** Every check, in the order one would walk through them by hand: cluster, operator, webhook, target. */
export function runChecks(inputs: DoctorInputs): CheckResult[] {
  const out = clusterChecks(inputs);
  if (!goesOn(inputs)) return out;
  out.push(...operatorChecks(inputs));
  for (const [policy, probe] of inputs.probes) out.push(...probeChecks(policy, probe));
  out.push(...admissionChecks(inputs), ...targetChecks(inputs));
  return out;
}
