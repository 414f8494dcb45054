import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../../api/index.js';
import { registerPolicyMetrics } from './metrics.js';

const ready = (name: string, status: 'True' | 'False'): SidecarPolicy => ({
  apiVersion: 'sidecar.dev/v1alpha1',
  kind: 'SidecarPolicy',
  metadata: { name },
  spec: { selector: { namespaces: ['a'] } },
  status: {
    namespaces: 1,
    injectedPods: 3,
    outdatedPods: 1,
    uninjectedPods: 0,
    conditions: [
      { type: 'Ready', status, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  },
});

const samples = async (r: Registry) =>
  (await r.metrics())
    .split('\n')
    .filter((l) => l.startsWith('sidecar_policy_'))
    .sort();

describe('registerPolicyMetrics', () => {
  it('exports what the source holds at each scrape: none while not leading, gone once deleted', async () => {
    const registry = new Registry();
    let policies: SidecarPolicy[] | undefined;
    registerPolicyMetrics(registry, () => policies);
    registerPolicyMetrics(registry, () => [ready('ignored', 'True')]);
    expect(await samples(registry)).toEqual([]);
    policies = [ready('a', 'True'), ready('b', 'False')];
    expect(await samples(registry)).toEqual([
      'sidecar_policy_conflict{policy="a"} 0',
      'sidecar_policy_conflict{policy="b"} 0',
      'sidecar_policy_namespaces{policy="a"} 1',
      'sidecar_policy_namespaces{policy="b"} 1',
      'sidecar_policy_pods{policy="a",state="injected"} 3',
      'sidecar_policy_pods{policy="a",state="outdated"} 1',
      'sidecar_policy_pods{policy="a",state="uninjected"} 0',
      'sidecar_policy_pods{policy="b",state="injected"} 3',
      'sidecar_policy_pods{policy="b",state="outdated"} 1',
      'sidecar_policy_pods{policy="b",state="uninjected"} 0',
      'sidecar_policy_ready{policy="a"} 1',
      'sidecar_policy_ready{policy="b"} 0',
    ]);
    policies = [ready('b', 'True')];
    const after = await samples(registry);
    expect(after.filter((l) => l.includes('policy="a"'))).toEqual([]);
    expect(after).toContain('sidecar_policy_ready{policy="b"} 1');
    policies = undefined;
    expect(await samples(registry)).toEqual([]);
  });
});
