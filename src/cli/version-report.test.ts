import { describe, expect, it } from 'vitest';
import { formatVersion, operatorVersion, skewWarnings, type VersionInfo } from './version-report.js';

describe('operatorVersion', () => {
  it('reads the chart’s version label, else the image tag', () => {
    expect(operatorVersion({ 'app.kubernetes.io/version': '0.1.0' }, 'x/y:v9.9.9')).toBe('0.1.0');
    expect(operatorVersion({}, 'ghcr.io/sidecar-operator/sidecar-operator:v0.2.0')).toBe('0.2.0');
    expect(operatorVersion(undefined, 'registry:5000/op:0.3.0@sha256:abc')).toBe('0.3.0');
    expect(operatorVersion(undefined, 'registry:5000/op')).toBeUndefined();
  });
});

describe('skewWarnings', () => {
  const client = { version: '0.1.0', apiVersion: 'v1alpha1' };
  it('says nothing when the cluster runs what the client is', () => {
    const info: VersionInfo = {
      client,
      operators: [{ namespace: 'ops', name: 'op', version: '0.1.0' }],
      crd: { name: 'sidecarpolicies.sidecar.dev', served: ['v1alpha1'], storage: 'v1alpha1' },
    };
    expect(skewWarnings(info)).toEqual([]);
    expect(formatVersion(info, false)).toBe(
      'Client Version: 0.1.0 (SidecarPolicy v1alpha1)\nOperator Version: 0.1.0 (ops/op)\nSidecarPolicy API: v1alpha1 served, v1alpha1 stored\n',
    );
  });

  it('warns on another operator version and on an API the CRD does not serve', () => {
    const info: VersionInfo = {
      client,
      operators: [{ namespace: 'ops', name: 'op', version: '0.2.0' }],
      crd: { name: 'sidecarpolicies.sidecar.dev', served: ['v1beta1'] },
    };
    expect(skewWarnings(info)).toEqual([
      "version skew: this client is 0.1.0, operator ops/op runs 0.2.0; use the client of the operator's version",
      "the cluster's sidecarpolicies.sidecar.dev serves v1beta1, not v1alpha1, which this client reads and writes",
    ]);
  });
});
