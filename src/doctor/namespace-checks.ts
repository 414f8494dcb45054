import type { V1Namespace } from '@kubernetes/client-node';
import {
  INJECTION_DISABLED,
  INJECTION_LABEL,
  NEVER_INJECTED_NAMESPACES,
  POLICY_LABEL,
  REVISION_ANNOTATION,
  type SidecarPolicy,
} from '../api/index.js';
import { currentMark, resolveNamespaceMarks, selectsNamespace } from '../render/namespace-marks.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';

function revisions(policies: readonly SidecarPolicy[]): Map<string, string> {
  return new Map(policies.map((p) => [p.metadata?.name ?? '', p.status?.revision ?? '']));
}

/** Which policy governs the namespace and why, or why none does. */
export function checkNamespace(inputs: DoctorInputs): CheckResult | undefined {
  const target = inputs.namespace;
  if (!target) return undefined;
  const ns = target.name;
  const name = `namespace:${ns}`;
  const obj = target.object;
  if (!obj) return fail('SO150', name, `namespace ${ns} does not exist`);
  const early = neverOrOptedOut(inputs, obj);
  if (early) return early;
  return governance(inputs, obj);
}

/** System and operator namespaces, and opted-out ones: no policy may govern them. */
function neverOrOptedOut(inputs: DoctorInputs, obj: V1Namespace): CheckResult | undefined {
  const ns = obj.metadata?.name ?? '';
  const name = `namespace:${ns}`;
  const labels = obj.metadata?.labels ?? {};
  if (NEVER_INJECTED_NAMESPACES.includes(ns) || ns === inputs.operatorNamespace)
    return warn(
      'SO151',
      name,
      `${ns} is ${ns === inputs.operatorNamespace ? 'the operator’s own namespace' : 'a system namespace'}: never injected`,
      'run workloads in another namespace',
    );
  const selecting = inputs.policies
    .filter((p) => selectsNamespace(p, obj))
    .map((p) => p.metadata?.name ?? '');
  if (labels[INJECTION_LABEL] === INJECTION_DISABLED) {
    const also =
      selecting.length > 0 ? ` (selected by ${selecting.join(', ')}, which must leave it alone)` : '';
    return warn(
      'SO152',
      name,
      `opted out: labelled ${INJECTION_LABEL}=${INJECTION_DISABLED}${also}`,
      `kubectl label namespace ${ns} ${INJECTION_LABEL}-`,
    );
  }
  return undefined;
}

/** Which policy should govern the namespace, compared with the marks it carries. */
function governance(inputs: DoctorInputs, obj: V1Namespace): CheckResult {
  const ns = obj.metadata?.name ?? '';
  const name = `namespace:${ns}`;
  const selecting = inputs.policies
    .filter((p) => selectsNamespace(p, obj))
    .map((p) => p.metadata?.name ?? '');
  const resolved = resolveNamespaceMarks(inputs.policies, [obj], {
    operatorNamespace: inputs.operatorNamespace ?? '',
    revisions: revisions(inputs.policies),
  });
  const expected = resolved.marks.get(ns);
  const mark = currentMark(obj);
  if (!expected) {
    if (mark.policy !== undefined)
      return fail(
        'SO153',
        name,
        `labelled ${POLICY_LABEL}=${mark.policy}, but no policy selects it: a stale mark`,
        'the operator removes it when it runs; or kubectl label namespace ' + ns + ` ${POLICY_LABEL}-`,
      );
    return warn(
      'SO154',
      name,
      `no policy selects ${ns} (${inputs.policies.length} polic${inputs.policies.length === 1 ? 'y' : 'ies'} checked): pods here are not injected`,
      'add it to a policy’s spec.selector.namespaces, or give it labels a spec.selector.namespaceSelector matches',
    );
  }
  const losers = selecting.filter((p) => p !== expected.policy);
  const why = `selected by ${expected.policy}${losers.length > 0 ? `, which wins over ${losers.join(', ')} (higher priority, then older)` : ''}`;
  if (mark.policy !== expected.policy)
    return fail(
      'SO155',
      name,
      `${why}, but labelled ${POLICY_LABEL}=${mark.policy ?? '(none)'}: the operator has not marked it, so the webhook is not called for it`,
      'check that the operator runs and leads; its logs name the failure',
    );
  if (expected.revision !== '' && mark.revision !== expected.revision)
    return warn(
      'SO156',
      name,
      `${why}; annotation ${REVISION_ANNOTATION}=${mark.revision ?? '(none)'} lags the policy’s revision ${expected.revision}`,
      'the operator updates it when it reconciles',
    );
  return pass(
    name,
    `governed by ${expected.policy} (${why}; label ${POLICY_LABEL}=${mark.policy}, revision ${mark.revision ?? '?'})`,
  );
}
