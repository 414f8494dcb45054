import { checkNamespacePodSecurity, checkPodsAdmissible } from './admission-checks.js';
import type { CheckResult } from './check.js';
import { checkCertificateExpiry } from './certificate-checks.js';
import {
  checkAdmissionApi,
  checkCrd,
  checkOperatorNamespace,
  checkPolicies,
  checkServerVersion,
} from './cluster-checks.js';
import type { DoctorInputs } from './inputs.js';
import { checkOtherMeshes } from './mesh-checks.js';
import { checkNamespace } from './namespace-checks.js';
import { checkPod } from './pod-checks.js';
import { checkProxyConfig } from './proxy-checks.js';
import { checkOperatorWorkload, checkSidecarRuntime } from './runtime-checks.js';
import { fail } from './check.js';
import {
  checkAdmissionPlugin,
  checkCaBundle,
  checkReview,
  checkWebhookConfigurations,
} from './webhook-checks.js';

/** Every check, in the order one would walk through them by hand: cluster, operator, webhook, target. */
export function runChecks(inputs: DoctorInputs): CheckResult[] {
  if (inputs.connectError !== undefined) {
    return [
      fail(
        'api-server',
        `cannot reach the API server: ${inputs.connectError}`,
        'check --kubeconfig / the current context (kubectl cluster-info)',
      ),
    ];
  }
  const out: CheckResult[] = [checkServerVersion(inputs), checkAdmissionApi(inputs), checkCrd(inputs)];
  if (!inputs.crdInstalled) return out;
  out.push(checkOperatorNamespace(inputs));
  const workload = checkOperatorWorkload(inputs);
  if (workload) out.push(workload);
  out.push(...checkPolicies(inputs), ...checkWebhookConfigurations(inputs));
  for (const [policy, probe] of inputs.probes)
    out.push(checkCaBundle(policy, probe), checkReview(policy, probe));
  if (inputs.scope.length > 0) out.push(checkAdmissionPlugin(inputs));
  out.push(checkCertificateExpiry(inputs));
  out.push(...checkPodsAdmissible(inputs));
  const ns = checkNamespace(inputs);
  if (ns) out.push(ns);
  const podSecurity = checkNamespacePodSecurity(inputs);
  if (podSecurity) out.push(podSecurity);
  out.push(...checkOtherMeshes(inputs.mesh, inputs.policies));
  const pod = checkPod(inputs);
  if (pod) out.push(pod);
  const proxyConfig = checkProxyConfig(inputs);
  if (proxyConfig) out.push(proxyConfig);
  const running = checkSidecarRuntime(inputs);
  if (running) out.push(running);
  return out;
}
