import { ConditionType, CRD_NAME, Reason, type SidecarPolicy } from '../api/index.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';

/** Native sidecars (init containers with restartPolicy Always) are on by default from 1.29. */
export const NATIVE_SIDECAR_MINOR = 29;

/** `v1.36.3` → [1, 36]; undefined when the string is not a version. */
export function parseMinor(gitVersion: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function checkServerVersion(inputs: DoctorInputs): CheckResult {
  const name = 'api-server-version';
  const v = inputs.serverVersion;
  if (v === undefined) return warn('SO102', name, 'the API server did not report its version');
  const parsed = parseMinor(v);
  if (!parsed) return warn('SO102', name, `unrecognised API server version ${v}`);
  const [major, minor] = parsed;
  if (major > 1 || minor >= NATIVE_SIDECAR_MINOR)
    return pass(name, `Kubernetes ${v}: native sidecars supported (sidecarMode Auto injects Native)`);
  return warn(
    'SO103',
    name,
    `Kubernetes ${v} has no native sidecars (needs 1.${NATIVE_SIDECAR_MINOR}): Auto injects Classic, so Jobs never complete while the proxy runs`,
    `upgrade the cluster to 1.${NATIVE_SIDECAR_MINOR} or later, or set holdApplicationUntilProxyStarts and accept Classic`,
  );
}

export function checkAdmissionApi(inputs: DoctorInputs): CheckResult {
  const name = 'admission-registration-api';
  if (inputs.groupVersions.includes('admissionregistration.k8s.io/v1'))
    return pass(name, 'admissionregistration.k8s.io/v1 is served');
  return fail(
    'SO104',
    name,
    'admissionregistration.k8s.io/v1 is not served: the API server cannot call mutating webhooks',
    'enable the admissionregistration.k8s.io/v1 API (--runtime-config) on the API server',
  );
}

export function checkCrd(inputs: DoctorInputs): CheckResult {
  const name = 'sidecarpolicy-crd';
  if (inputs.crdInstalled) return pass(name, `CustomResourceDefinition ${CRD_NAME} is installed`);
  return fail(
    'SO105',
    name,
    `CustomResourceDefinition ${CRD_NAME} is not installed`,
    'install the operator with Helm (charts/sidecar-operator), or kubectl apply -f crds/',
  );
}

export function checkOperatorNamespace(inputs: DoctorInputs): CheckResult {
  const name = 'operator';
  const ns = inputs.operatorNamespace;
  const fix = 'pass --operator-namespace <namespace where the operator runs>';
  if (ns === undefined && inputs.operatorNamespaceCandidates.length > 1) {
    return warn(
      'SO110',
      name,
      `several namespaces hold the operator's injector template ConfigMaps or Deployments (${inputs.operatorNamespaceCandidates.join(', ')})`,
      fix,
    );
  }
  if (ns === undefined) {
    const what =
      'no injector template ConfigMap (sidecar-injector-<policy>) and no operator Deployment found';
    // With no policy there is nothing to render; with no Deployment the operator runs outside the cluster.
    if (inputs.policies.length === 0) return warn('SO111', name, `${what}: no policy has been rendered`, fix);
    return fail(
      'SO111',
      name,
      `${what}: the operator has never reconciled here`,
      `check that the operator runs (kubectl get pods -A -l app.kubernetes.io/name=sidecar-operator), or ${fix}`,
    );
  }
  const held = inputs.templates?.templates.size ?? 0;
  if (held === 0 && inputs.policies.length > 0)
    return fail(
      'SO148',
      name,
      `namespace ${ns} has no injector template ConfigMap (sidecar-injector-<policy>): the operator has not rendered any template`,
      'check the operator logs (kubectl logs -n <namespace> deploy/sidecar-operator)',
    );
  const broken = (inputs.templates?.errors ?? []).map((e) => `${e.key} (${e.reason})`);
  if (broken.length > 0)
    return fail('SO149', name, `injector templates in ${ns} unreadable: ${broken.join(', ')}`);
  return pass(name, `${held} injector template(s) in ${ns}`);
}

function condition(p: SidecarPolicy, type: string) {
  return p.status?.conditions?.find((c) => c.type === type);
}

/** Each policy in scope: Ready, current, and its template rendered at the revision it reports. */
export function checkPolicies(inputs: DoctorInputs): CheckResult[] {
  if (inputs.policies.length === 0) {
    return [
      warn(
        'SO140',
        'policies',
        'no SidecarPolicy exists: nothing is injected anywhere',
        'create one (see examples/bookinfo.yaml) with kubectl apply -f',
      ),
    ];
  }
  const out: CheckResult[] = [];
  for (const p of inputs.policies) {
    const policy = p.metadata?.name ?? '';
    if (!inputs.scope.includes(policy)) continue;
    out.push(checkPolicy(p, inputs));
  }
  return out;
}

function checkPolicy(p: SidecarPolicy, inputs: DoctorInputs): CheckResult {
  const policy = p.metadata?.name ?? '';
  const name = `policy:${policy}`;
  const ready = condition(p, ConditionType.Ready);
  const status = p.status ?? {};
  const fix = `kubectl describe sp ${policy}, and the operator logs`;
  if (!ready || status.observedGeneration !== p.metadata?.generation) {
    return fail(
      'SO141',
      name,
      `not reconciled yet (observedGeneration ${status.observedGeneration ?? 'none'}, generation ${p.metadata?.generation ?? '?'}): the operator is not running or not leading`,
      fix,
    );
  }
  if (ready.status !== 'True')
    return fail(
      'SO142',
      name,
      `Ready=${ready.status} ${ready.reason}: ${ready.message}`,
      // Every namespace it selects is governed by another policy: precedence, not a fault.
      ready.reason === Reason.NamespaceConflict ? 'raise spec.priority, or narrow one of the selectors' : fix,
    );
  const template = inputs.templates?.templates.get(policy);
  if (inputs.templates !== undefined && template === undefined)
    return fail('SO143', name, 'Ready, but no injector template ConfigMap holds its template', fix);
  if (template !== undefined && template.revision !== status.revision)
    return warn(
      'SO144',
      name,
      `status revision ${status.revision ?? 'none'} differs from the rendered template's ${template.revision}`,
      fix,
    );
  return readyPolicy(p, name);
}

/**
 * A Ready policy: still worth a warning when it lost namespaces. Its pods without a sidecar are told
 * apart (missed, host network, opted out) by the pods checks, once the pods are listed.
 */
function readyPolicy(p: SidecarPolicy, name: string): CheckResult {
  const status = p.status ?? {};
  const conflict = condition(p, ConditionType.Conflict);
  const counts = [
    `revision ${status.revision ?? '?'}`,
    `${status.namespaces ?? 0} namespace(s)`,
    `${status.injectedPods ?? 0} injected pod(s)`,
    `${status.outdatedPods ?? 0} outdated`,
    `${status.uninjectedPods ?? 0} uninjected`,
  ].join(', ');
  if (conflict?.status === 'True')
    return warn(
      'SO145',
      name,
      `Ready, but lost namespaces to another policy: ${conflict.message}`,
      'raise spec.priority, or narrow one of the selectors',
    );
  return pass(name, `Ready; ${counts}`);
}
