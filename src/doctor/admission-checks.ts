import { ConditionType, POLICY_LABEL, Reason, type Condition, type SidecarPolicy } from '../api/index.js';
import { podSecurityWaysOut } from '../status/index.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';

const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';

const podsAdmissible = (p: SidecarPolicy): Condition | undefined =>
  p.status?.conditions?.find((c) => c.type === ConditionType.PodsAdmissible);

/**
 * What the operator's admission check found for each policy in scope: whether the API server
 * admits a dry-run injected pod in every governed namespace. Nothing for a policy without the
 * condition (an operator that does not check).
 */
export function checkPodsAdmissible(inputs: DoctorInputs): CheckResult[] {
  const out: CheckResult[] = [];
  for (const p of inputs.policies) {
    const policy = p.metadata?.name ?? '';
    const c = podsAdmissible(p);
    if (!inputs.scope.includes(policy) || !c) continue;
    const name = `pods-admissible:${policy}`;
    if (c.status === 'True') out.push(pass(name, c.message));
    else if (c.status === 'False') out.push(fail('SO158', name, c.message, refusalFix(policy, c.message)));
    else if (c.reason === Reason.AdmissionCheckDisabled)
      out.push(
        warn(
          'SO159',
          name,
          c.message,
          'install with admissionCheck.enabled=true (run --admission-check=true)',
        ),
      );
    else
      out.push(
        warn(
          'SO159',
          name,
          `${c.reason}: ${c.message}`,
          `kubectl describe sp ${policy}, and the operator logs; the check retries within a minute`,
        ),
      );
  }
  return out;
}

function refusalFix(policy: string, message: string): string {
  const events = `kubectl get events -n default --field-selector involvedObject.name=${policy},reason=PodsRefused`;
  if (message.includes('Pod Security')) return `see the ways out above; each namespace's refusal: ${events}`;
  return `make the namespaces admit the pod the policy injects (quota, LimitRange, other webhooks: the server's words are above), or change the policy's resources; each namespace's refusal: ${events}`;
}

/**
 * The namespace doctor was pointed at: governed by a policy that redirects traffic with iptables
 * while Pod Security refuses sidecar-init's capabilities. Read from its labels alone, so it shows
 * before any pod fails, and whether or not the operator runs its own check.
 */
export function checkNamespacePodSecurity(inputs: DoctorInputs): CheckResult | undefined {
  const obj = inputs.namespace?.object;
  const ns = inputs.namespace?.name ?? '';
  const labels = obj?.metadata?.labels ?? {};
  const governing = inputs.policies.find((p) => p.metadata?.name === labels[POLICY_LABEL]);
  if (!obj || !governing) return undefined;
  const name = `pod-security:${ns}`;
  const level = labels[POD_SECURITY_ENFORCE];
  if (governing.spec.interception?.mode === 'None')
    return pass(name, `policy ${governing.metadata?.name ?? ''} adds no NET_ADMIN (interception mode None)`);
  if (level !== 'baseline' && level !== 'restricted')
    return pass(
      name,
      `Pod Security enforce level ${level ?? 'none (privileged)'} admits sidecar-init's capabilities`,
    );
  return fail(
    'SO157',
    name,
    `namespace ${ns} enforces Pod Security "${level}": every pod policy ${governing.metadata?.name ?? ''} injects there is refused`,
    podSecurityWaysOut(level),
  );
}
