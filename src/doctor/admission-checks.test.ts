import { describe, expect, it } from 'vitest';
import type { Condition, SidecarPolicy } from '../api/index.js';
import { checkNamespacePodSecurity, checkPodsAdmissible } from './admission-checks.js';
import type { DoctorInputs } from './inputs.js';

function inputs(over: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    now: new Date('2026-06-01T00:00:00Z'),
    groupVersions: [],
    crdInstalled: true,
    operatorNamespaceCandidates: [],
    policies: [],
    scope: [],
    webhookConfigurations: [],
    probes: new Map(),
    operatorNamespace: 'sidecar-system',
    ...over,
  };
}

const policy = (name: string, c?: Partial<Condition>, mode?: 'None' | 'REDIRECT'): SidecarPolicy => ({
  apiVersion: 'sidecar.dev/v1alpha1',
  kind: 'SidecarPolicy',
  metadata: { name },
  spec: { selector: { namespaces: ['shop'] }, ...(mode ? { interception: { mode } } : {}) },
  status: c
    ? {
        conditions: [
          {
            type: 'PodsAdmissible',
            status: 'True',
            reason: 'PodsAdmitted',
            message: '',
            lastTransitionTime: '',
            ...c,
          },
        ],
      }
    : {},
});

describe('doctor: admission', () => {
  it('reports PodsAdmissible per policy in scope, with a fix when refused', () => {
    const refused = policy('a', {
      status: 'False',
      reason: 'PodsRefused',
      message:
        'the API server refuses injected pods in 1 of 2 governed namespaces: shop: … Pod Security "baseline" refuses …',
    });
    const out = checkPodsAdmissible(
      inputs({
        policies: [
          refused,
          policy('b', { message: 'ok' }),
          policy('c'),
          policy('d', { status: 'Unknown', reason: 'AdmissionCheckDisabled' }),
        ],
        scope: ['a', 'b', 'c', 'd'],
      }),
    );
    expect(out.map((r) => [r.name, r.status])).toEqual([
      ['pods-admissible:a', 'fail'],
      ['pods-admissible:b', 'pass'],
      ['pods-admissible:d', 'warn'],
    ]);
    expect(out[0]!.reason).toContain('shop: ');
    expect(out[0]!.fix).toContain('reason=PodsRefused');
    expect(out[2]!.fix).toContain('admissionCheck.enabled=true');
    expect(checkPodsAdmissible(inputs({ policies: [refused], scope: [] }))).toEqual([]);
  });

  it('fails a governed namespace that enforces baseline or restricted, before any pod, with the ways out', () => {
    const ns = (labels: Record<string, string>) => ({
      name: 'shop',
      object: { metadata: { name: 'shop', labels: { 'sidecar.dev/policy': 'a', ...labels } } },
    });
    const strict = checkNamespacePodSecurity(
      inputs({
        policies: [policy('a')],
        namespace: ns({ 'pod-security.kubernetes.io/enforce': 'restricted' }),
      }),
    );
    expect(strict).toMatchObject({ name: 'pod-security:shop', status: 'fail' });
    expect(strict!.reason).toContain('"restricted"');
    expect(strict!.fix).toContain('pod-security.kubernetes.io/enforce=privileged');
    expect(strict!.fix).toContain('exemptions.namespaces');
    expect(strict!.fix).toContain('mode: None');
    const none = checkNamespacePodSecurity(
      inputs({
        policies: [policy('a', undefined, 'None')],
        namespace: ns({ 'pod-security.kubernetes.io/enforce': 'baseline' }),
      }),
    );
    expect(none?.status).toBe('pass');
    const privileged = checkNamespacePodSecurity(
      inputs({
        policies: [policy('a')],
        namespace: ns({ 'pod-security.kubernetes.io/enforce': 'privileged' }),
      }),
    );
    expect(privileged?.status).toBe('pass');
    // Not governed: nothing to say.
    expect(checkNamespacePodSecurity(inputs({ policies: [], namespace: ns({}) }))).toBeUndefined();
  });
});
