import { POLICY_LABEL } from '../api/index.js';
import {
  decideInjection,
  findProxy,
  INIT_CONTAINER_NAME,
  parseStatus,
  sidecarPresence,
  type CompiledTemplate,
  type InjectionStatus,
  type Pod,
} from '../inject/index.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';
import { restartCommand } from './mesh-checks.js';

const RECREATE = 'recreate it (kubectl rollout restart on its workload, or delete the pod)';

function governingTemplate(inputs: DoctorInputs): CompiledTemplate | undefined {
  const labels = inputs.namespace?.object?.metadata?.labels ?? {};
  const policy = labels[POLICY_LABEL];
  return policy === undefined ? undefined : inputs.templates?.templates.get(policy);
}

const describe = (s: InjectionStatus) => `policy ${s.policy || '?'} revision ${s.revision || '?'}`;

/**
 * A sidecar whose annotation says the current revision must be that revision's: containers under
 * our names running other images were not put there by this policy, whatever the annotation says.
 */
function foreignImages(pod: Pod, template: CompiledTemplate): string | undefined {
  type Pair = [name: string, has: string | undefined, want: string | undefined];
  const pairs: Pair[] = [
    [template.proxyContainer.name, findProxy(pod.spec)?.image, template.proxyContainer.image],
  ];
  if (template.initContainer) {
    const init = pod.spec?.initContainers?.find((c) => c.name === INIT_CONTAINER_NAME);
    pairs.push([INIT_CONTAINER_NAME, init?.image, template.initContainer.image]);
  }
  const wrong = pairs.filter(([, has, want]) => has !== want);
  if (wrong.length === 0) return undefined;
  return wrong
    .map(([name, has, want]) => `${name} runs ${has ?? 'no image'}, not ${want ?? 'no image'}`)
    .join('; ');
}

/** A pod that has the sidecar containers the governing template adds. */
function checkSidecar(name: string, pod: Pod, template: CompiledTemplate): CheckResult {
  const status = parseStatus(pod.metadata?.annotations);
  if (status === undefined)
    return warn(
      'SO162',
      name,
      'has containers named like the sidecar but no sidecar.dev/status annotation: not injected by this operator',
      RECREATE,
    );
  if (status.policy !== template.policy || status.revision !== template.revision)
    return warn(
      'SO163',
      name,
      `sidecar outdated: injected by ${describe(status)}, current is ${template.policy} revision ${template.revision}`,
      `${restartCommand(pod)} (or set spec.rollout.strategy: Restart on the policy)`,
    );
  const foreign = foreignImages(pod, template);
  if (foreign !== undefined)
    return fail(
      'SO164',
      name,
      `its sidecar is not the one ${describe(status)} injects: ${foreign}; the pod's traffic may not be captured`,
      RECREATE,
    );
  return pass(name, `injected by policy ${status.policy} at the current revision ${status.revision}`);
}

/** Whether the pod has (or would get) a sidecar, and whether the one it has is current. */
export function checkPod(inputs: DoctorInputs): CheckResult | undefined {
  const target = inputs.pod;
  if (!target) return undefined;
  const ns = inputs.namespace?.name ?? 'default';
  const name = `pod:${ns}/${target.name}`;
  if (!target.found || !target.pod)
    return fail('SO160', name, `pod ${target.name} does not exist in namespace ${ns}`);
  const pod = target.pod;
  const status = parseStatus(pod.metadata?.annotations);
  const template = governingTemplate(inputs);
  if (template === undefined) {
    if (findProxy(pod.spec) && status !== undefined)
      return pass(name, `injected by ${describe(status)}; no policy governs the namespace now`);
    return warn('SO161', name, 'no sidecar: no policy governs its namespace (see the namespace check)');
  }
  const present = sidecarPresence(pod.spec, template);
  if (present.state === 'complete') return checkSidecar(name, pod, template);
  if (present.state === 'partial')
    return fail(
      'SO165',
      name,
      `half a sidecar: ${present.found.join(' and ')} without ${present.missing.join(' and ')}; the pod's traffic is not captured`,
      RECREATE,
    );
  const claim = status !== undefined ? `; its sidecar.dev/status annotation claims ${describe(status)}` : '';
  const decision = decideInjection(pod, template, {
    namespace: ns,
    operatorNamespace: inputs.operatorNamespace ?? '',
    namespaceLabels: inputs.namespace?.object?.metadata?.labels ?? {},
  });
  if (decision.inject)
    return warn(
      'SO166',
      name,
      `no sidecar${claim}, but it would get one if created now (${decision.reason}): it was created before its namespace was governed, or while the webhook was unreachable with failurePolicy Ignore`,
      restartCommand(pod),
    );
  return warn('SO167', name, `not injected${claim}: ${decision.message} (${decision.reason})`);
}
