import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { policyGauges } from './policy-gauges.js';

const cond = (type: string, status: 'True' | 'False' | 'Unknown') => ({
  type,
  status,
  reason: 'R',
  message: '',
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

function policy(name: string, status?: SidecarPolicy['status'], deleting = false): SidecarPolicy {
  return {
    apiVersion: 'sidecar.dev/v1alpha1',
    kind: 'SidecarPolicy',
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}) },
    spec: { selector: { namespaces: ['a'] } },
    ...(status ? { status } : {}),
  };
}

describe('policyGauges', () => {
  it('reads ready, conflict, namespaces and pod counts from the status, sorted by policy', () => {
    const rows = policyGauges([
      policy('mesh', {
        namespaces: 2,
        injectedPods: 5,
        outdatedPods: 2,
        uninjectedPods: 1,
        conditions: [cond('Ready', 'True'), cond('Conflict', 'False')],
      }),
      policy('loser', { namespaces: 0, conditions: [cond('Ready', 'False'), cond('Conflict', 'True')] }),
    ]);
    expect(rows).toEqual([
      { policy: 'loser', ready: 0, conflict: 1, namespaces: 0 },
      {
        policy: 'mesh',
        ready: 1,
        conflict: 0,
        namespaces: 2,
        pods: { injected: 5, outdated: 2, uninjected: 1 },
      },
    ]);
  });

  it('reports a policy without status as not ready, and leaves out policies being deleted', () => {
    expect(policyGauges([policy('new'), policy('going', undefined, true)])).toEqual([
      { policy: 'new', ready: 0, conflict: 0 },
    ]);
    expect(policyGauges([policy('unknown', { conditions: [cond('Ready', 'Unknown')] })])[0]?.ready).toBe(0);
  });
});
