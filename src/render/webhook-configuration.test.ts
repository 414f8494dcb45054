import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { caBundlesOf, renderWebhookConfiguration } from './webhook-configuration.js';
import { containsDesired } from './contains.js';

const policy: SidecarPolicy = {
  apiVersion: 'sidecar.dev/v1alpha1',
  kind: 'SidecarPolicy',
  metadata: { name: 'mesh', uid: 'u-1' },
  spec: {
    selector: { namespaces: ['a'], podSelector: { matchLabels: { app: 'web' } } },
    injection: { failurePolicy: 'Ignore', timeoutSeconds: 7 },
  },
};

describe('renderWebhookConfiguration', () => {
  it('renders one webhook owned by the policy with the selectors, path and caBundle', () => {
    const mwc = renderWebhookConfiguration(policy, {
      caBundle: 'PEM',
      target: { service: { namespace: 'ops', name: 'sidecar-operator' } },
      operatorNamespace: 'ops',
    });
    expect(mwc.metadata?.name).toBe('mesh');
    expect(mwc.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'SidecarPolicy', name: 'mesh', uid: 'u-1', controller: true }),
    ]);
    expect(mwc.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('sidecar-operator');
    const [w] = mwc.webhooks!;
    expect(w).toMatchObject({
      name: 'mesh.sidecar.dev',
      failurePolicy: 'Ignore',
      timeoutSeconds: 7,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      reinvocationPolicy: 'IfNeeded',
      matchPolicy: 'Equivalent',
      clientConfig: {
        service: { namespace: 'ops', name: 'sidecar-operator', path: '/inject/mesh', port: 443 },
        caBundle: Buffer.from('PEM').toString('base64'),
      },
      rules: [{ operations: ['CREATE'], resources: ['pods'], apiVersions: ['v1'], apiGroups: [''] }],
    });
    expect(w?.namespaceSelector).toEqual({
      matchLabels: { 'sidecar.dev/policy': 'mesh' },
      matchExpressions: [
        { key: 'sidecar.dev/injection', operator: 'NotIn', values: ['disabled'] },
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', 'kube-public', 'kube-node-lease', 'ops'],
        },
      ],
    });
    expect(w?.objectSelector).toEqual({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'sidecar.dev/inject', operator: 'NotIn', values: ['false'] }],
    });
    expect(caBundlesOf(mwc)).toEqual(['PEM']);
  });

  it('with compatibility.istio, leaves Istio’s opt-out label out and the podSelector to the handler', () => {
    const istio: SidecarPolicy = { ...policy, spec: { ...policy.spec, compatibility: { istio: true } } };
    const [w] = renderWebhookConfiguration(istio, {
      caBundle: 'PEM',
      target: { url: 'https://example.test' },
      operatorNamespace: 'ops',
    }).webhooks!;
    expect(w?.objectSelector).toEqual({
      matchExpressions: [
        { key: 'sidecar.dev/inject', operator: 'NotIn', values: ['false'] },
        { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] },
      ],
    });
  });

  it('uses a URL outside the cluster and the policy defaults', () => {
    const mwc = renderWebhookConfiguration(
      { ...policy, spec: { selector: {} } },
      { caBundle: 'X', target: { url: 'https://127.0.0.1:9443/' }, operatorNamespace: 'ops' },
    );
    const [w] = mwc.webhooks!;
    expect(w?.clientConfig.url).toBe('https://127.0.0.1:9443/inject/mesh');
    expect(w?.clientConfig.service).toBeUndefined();
    expect(w?.failurePolicy).toBe('Fail');
    expect(w?.timeoutSeconds).toBe(10);
  });
});

describe('containsDesired', () => {
  it('ignores extra keys but not differing values or array lengths', () => {
    expect(containsDesired({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(containsDesired({ a: 1 }, { a: 2 })).toBe(false);
    expect(containsDesired({ a: [1, 2] }, { a: [1] })).toBe(false);
    expect(containsDesired({ a: [{ x: 1, y: 2 }] }, { a: [{ x: 1 }] })).toBe(true);
    expect(containsDesired({}, { a: 'x' })).toBe(false);
  });
});
