import type { V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import type { Pod } from '../inject/index.js';
import { checkOtherMeshes, isForeignInjector, type MeshInputs } from './mesh-checks.js';

const ns = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
  metadata: {
    name,
    labels: { 'kubernetes.io/metadata.name': name, 'sidecar.dev/policy': 'mesh', ...labels },
  },
});

const policy = (spec: Partial<SidecarPolicy['spec']> = {}): SidecarPolicy => ({
  metadata: { name: 'mesh' },
  spec: { selector: { namespaces: ['shop'] }, ...spec },
});

/** Istio's default injector as istioctl installs it: namespace-, revision- and object-selected. */
const istio: V1MutatingWebhookConfiguration = {
  metadata: { name: 'istio-sidecar-injector' },
  webhooks: [
    {
      name: 'namespace.sidecar-injector.istio.io',
      namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } },
      objectSelector: {
        matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }],
      },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: {},
    },
    {
      name: 'object.sidecar-injector.istio.io',
      namespaceSelector: {
        matchExpressions: [
          { key: 'istio-injection', operator: 'DoesNotExist' },
          { key: 'istio.io/rev', operator: 'DoesNotExist' },
        ],
      },
      objectSelector: { matchLabels: { 'sidecar.istio.io/inject': 'true' } },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: {},
    },
  ],
};

const meshedPod = (name: string, owner?: { kind: string; name: string }, hash?: string): Pod => ({
  metadata: {
    name,
    namespace: 'shop',
    ...(hash ? { labels: { 'pod-template-hash': hash } } : {}),
    ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', uid: 'u', ...owner }] } : {}),
  },
  spec: { initContainers: [{ name: 'istio-init' }], containers: [{ name: 'app' }, { name: 'istio-proxy' }] },
});

function inputs(over: Partial<MeshInputs> = {}): MeshInputs {
  const shop = ns('shop', { 'istio-injection': 'enabled' });
  return {
    governed: new Map([['shop', { policy: 'mesh', object: shop }]]),
    meshedPods: [],
    foreignWebhooks: [],
    ...over,
  };
}

describe('checkOtherMeshes', () => {
  it('passes when nothing of another mesh is left', () => {
    expect(checkOtherMeshes(inputs(), [policy()])).toEqual([
      expect.objectContaining({ name: 'other-meshes', status: 'pass' }),
    ]);
    expect(checkOtherMeshes(undefined, [])).toEqual([]);
  });

  it('lists pods with another mesh’s sidecar, with the commands that re-create them once the namespace is moved', () => {
    const pods = [
      meshedPod('web-7d9f-abcde', { kind: 'ReplicaSet', name: 'web-7d9f' }, '7d9f'),
      meshedPod('db-0', { kind: 'StatefulSet', name: 'db' }),
      meshedPod('lonely'),
    ];
    const [r] = checkOtherMeshes(inputs({ meshedPods: pods }), [policy()]);
    expect(r).toMatchObject({ name: 'meshed-pods:shop', status: 'warn' });
    expect(r!.reason).toContain(
      "3 pods in shop (governed by mesh) carry Istio's sidecar: db-0, lonely, web-7d9f-abcde",
    );
    expect(r!.fix).toBe(
      'first kubectl label namespace shop istio-injection-, then ' +
        'kubectl -n shop delete pod lonely; kubectl -n shop rollout restart deployment/web; ' +
        'kubectl -n shop rollout restart statefulset/db',
    );
  });

  it('reports Istio’s webhooks selecting a governed namespace (two injectors racing), with the commands to move it', () => {
    const out = checkOtherMeshes(
      inputs({
        governed: new Map([
          ['shop', { policy: 'mesh', object: ns('shop', { 'istio-injection': 'enabled' }) }],
          ['plain', { policy: 'mesh', object: ns('plain') }],
        ]),
        foreignWebhooks: [istio],
      }),
      [policy()],
    );
    expect(out.map((r) => r.name)).toEqual([
      'mesh-webhook:istio-sidecar-injector/namespace.sidecar-injector.istio.io',
      'mesh-webhook:istio-sidecar-injector/object.sidecar-injector.istio.io',
    ]);
    expect(out[0]!.reason).toContain('is called for namespace shop');
    expect(out[0]!.fix).toBe('kubectl label namespace shop istio-injection-');
    // The object webhook takes pods labelled sidecar.istio.io/inject=true in unlabelled namespaces.
    expect(out[1]!.reason).toContain('namespace plain (for the pods its objectSelector matches)');
    expect(out[1]!.fix).toBe(
      'once no namespace needs it: kubectl delete mutatingwebhookconfiguration istio-sidecar-injector',
    );
  });

  it('selects the namespace by name first when the policy holds it only by Istio’s label', () => {
    const compat = policy({
      selector: { namespaces: ['other'] },
      compatibility: { istio: true, istioNamespaceLabels: true },
    });
    const [r] = checkOtherMeshes(inputs({ foreignWebhooks: [istio] }), [compat]);
    expect(r!.fix).toBe(
      `kubectl patch sidecarpolicy mesh --type=json -p '[{"op":"add","path":"/spec/selector/namespaces/-","value":"shop"}]'; ` +
        'kubectl label namespace shop istio-injection-',
    );
  });

  it('tells Istio’s and Linkerd’s injectors from others', () => {
    expect(isForeignInjector(istio)).toBe(true);
    const linkerd = {
      metadata: { name: 'linkerd-proxy-injector-webhook-config' },
      webhooks: [{ ...istio.webhooks![0]!, name: 'linkerd-proxy-injector.linkerd.io' }],
    };
    expect(isForeignInjector(linkerd)).toBe(true);
    expect(isForeignInjector({ webhooks: [{ ...istio.webhooks![0]!, name: 'mesh.sidecar.dev' }] })).toBe(
      false,
    );
  });

  it('says when it could not look', () => {
    const [r] = checkOtherMeshes(inputs({ error: '403 forbidden' }), []);
    expect(r).toMatchObject({ name: 'other-meshes', status: 'warn' });
  });

  it('fails a pod that carries our sidecar and another mesh’s (SO183), apart from pods with only theirs', () => {
    const both: Pod = {
      ...meshedPod('api-0', { kind: 'StatefulSet', name: 'api' }),
      spec: {
        initContainers: [{ name: 'istio-init' }, { name: 'sidecar-init' }],
        containers: [{ name: 'app' }, { name: 'istio-proxy' }, { name: 'sidecar-proxy' }],
      },
    };
    const rs = checkOtherMeshes(inputs({ meshedPods: [both, meshedPod('db-0')] }), [policy()]);
    const two = rs.find((r) => r.name === 'two-meshes:shop');
    expect(two).toMatchObject({ status: 'fail', code: 'SO183' });
    expect(two?.reason).toBe(
      "1 pod(s) in shop carry both our sidecar and Istio's (api-0): two proxies capture the same traffic",
    );
    expect(two?.fix).toBe(
      'first kubectl label namespace shop istio-injection-, then kubectl -n shop rollout restart statefulset/api',
    );
    expect(rs.find((r) => r.name === 'meshed-pods:shop')?.reason).toMatch(/^1 pod in shop .*: db-0;/);
  });
});
