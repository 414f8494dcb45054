import type { V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import type { Pod } from '../inject/index.js';
import { formatPlan, planHasWork, planMigration, type MigrationInputs } from './migration.js';

const ns = (
  name: string,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
): V1Namespace => ({
  metadata: {
    name,
    labels: { 'kubernetes.io/metadata.name': name, ...labels },
    ...(annotations ? { annotations } : {}),
  },
});

const policy = (name: string, spec: Partial<SidecarPolicy['spec']>): SidecarPolicy => ({
  metadata: { name, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: { selector: {}, ...spec },
});

const istioPod = (namespace: string, name: string, deployment?: string): Pod => ({
  metadata: {
    name,
    namespace,
    ...(deployment
      ? {
          labels: { 'pod-template-hash': '5d9b8c7f4' },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${deployment}-5d9b8c7f4`, uid: 'u' },
          ],
        }
      : {}),
  },
  spec: { initContainers: [{ name: 'istio-init' }], containers: [{ name: 'app' }, { name: 'istio-proxy' }] },
});

const istioInjector: V1MutatingWebhookConfiguration = {
  metadata: { name: 'istio-sidecar-injector' },
  webhooks: [
    {
      name: 'namespace.sidecar-injector.istio.io',
      namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: {},
    },
  ],
};

const byLabel = policy('mesh', { selector: { namespaceSelector: { matchLabels: { mesh: 'ours' } } } });

function plan(over: Partial<MigrationInputs>) {
  return planMigration({ policies: [], namespaces: [], meshedPods: [], webhookConfigurations: [], ...over });
}

describe('planMigration', () => {
  it('has nothing to do on a cluster without another mesh', () => {
    const p = plan({ policies: [byLabel], namespaces: [ns('shop', { mesh: 'ours' })] });
    expect(p).toEqual({ namespaces: [], injectors: [], problems: [] });
    expect(planHasWork(p)).toBe(false);
    expect(formatPlan(p)).toMatch(/^Nothing to move/);
  });

  it('takes an Istio namespace with the policy’s own label, removes Istio’s, restarts what carries its sidecar', () => {
    const p = plan({
      policies: [byLabel],
      namespaces: [ns('shop', { 'istio-injection': 'enabled' }), ns('other')],
      meshedPods: [istioPod('shop', 'web-5d9b8c7f4-abcde', 'web'), istioPod('shop', 'lonely')],
      webhookConfigurations: [istioInjector],
    });
    expect(p.problems).toEqual([]);
    expect(p.namespaces).toEqual([
      {
        namespace: 'shop',
        meshes: ['Istio'],
        because: ['label istio-injection=enabled', "2 pods carry Istio's sidecar"],
        policyAfter: 'mesh',
        steps: [
          'kubectl label namespace shop mesh=ours --overwrite',
          'kubectl label namespace shop istio-injection-',
          'kubectl -n shop delete pod lonely',
          'kubectl -n shop rollout restart deployment/web',
          'sidecar-operator doctor -n shop',
        ],
        notes: [],
      },
    ]);
    expect(p.injectors).toEqual([
      expect.objectContaining({
        configuration: 'istio-sidecar-injector',
        selectsNow: ['shop'],
        selectsAfter: [],
        advice:
          'once nothing else uses it: kubectl delete mutatingwebhookconfiguration istio-sidecar-injector',
      }),
    ]);
    expect(planHasWork(p)).toBe(true);
  });

  it('selects by name a namespace a policy holds only through Istio’s label, before the label goes', () => {
    const compat = policy('compat', {
      selector: { namespaceSelector: { matchLabels: { never: 'matches' } } },
      compatibility: { istio: true, istioNamespaceLabels: true },
    });
    const p = plan({ policies: [compat], namespaces: [ns('shop', { 'istio-injection': 'enabled' })] });
    expect(p.namespaces[0]).toMatchObject({
      policyNow: 'compat',
      policyAfter: 'compat',
      steps: [
        `kubectl patch sidecarpolicy compat --type=merge -p '{"spec":{"selector":{"namespaces":["shop"]}}}'`,
        'kubectl label namespace shop istio-injection-',
        'sidecar-operator doctor -n shop',
      ],
      notes: [],
    });
  });

  it('leaves Istio’s opted-out namespaces alone', () => {
    const p = plan({ policies: [byLabel], namespaces: [ns('quiet', { 'istio-injection': 'disabled' })] });
    expect(p.namespaces).toEqual([]);
  });

  it('asks which policy when several could take a namespace, and takes the one named', () => {
    const other = policy('other', { selector: { namespaces: ['x'] } });
    const inputs = {
      policies: [byLabel, other],
      namespaces: [ns('shop', { 'istio.io/rev': 'canary' })],
    };
    const ask = plan(inputs);
    expect(ask.problems).toEqual([
      'no policy governs shop; 2 policies could take them (mesh, other): choose one with --policy',
    ]);
    expect(ask.namespaces[0]!.steps).toEqual([]);
    const named = plan({ ...inputs, target: 'other' });
    expect(named.problems).toEqual([]);
    expect(named.namespaces[0]).toMatchObject({
      policyAfter: 'other',
      steps: [
        `kubectl patch sidecarpolicy other --type=json -p '[{"op":"add","path":"/spec/selector/namespaces/-","value":"shop"}]'`,
        'kubectl label namespace shop istio.io/rev-',
        'sidecar-operator doctor -n shop',
      ],
    });
  });

  it('says so when a policy of higher precedence would end up governing the namespace', () => {
    const greedy = policy('greedy', {
      priority: 10,
      selector: {
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }] },
      },
    });
    const p = plan({
      policies: [byLabel, greedy],
      namespaces: [ns('shop', { 'istio-injection': 'enabled' })],
      target: 'mesh',
    });
    expect(p.namespaces[0]!.policyAfter).toBe('greedy');
    expect(p.namespaces[0]!.notes).toEqual([
      'after these steps greedy governs it, not mesh (a policy of higher precedence selects it too)',
    ]);
  });

  it('moves Linkerd’s annotated namespaces too', () => {
    const p = plan({
      policies: [byLabel],
      namespaces: [ns('books', {}, { 'linkerd.io/inject': 'enabled' })],
    });
    expect(p.namespaces[0]).toMatchObject({
      meshes: ['Linkerd'],
      because: ['annotation linkerd.io/inject=enabled'],
      steps: [
        'kubectl label namespace books mesh=ours --overwrite',
        'kubectl annotate namespace books linkerd.io/inject-',
        'sidecar-operator doctor -n books',
      ],
    });
  });

  it('says no policy exists when there is none to take the namespaces', () => {
    const p = plan({ namespaces: [ns('shop', { 'istio-injection': 'enabled' })] });
    expect(p.problems[0]).toMatch(/^no policy governs shop; no SidecarPolicy exists to take them/);
    expect(formatPlan(p)).toContain('problem: no policy governs shop');
  });
});
