import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../inject/index.js';
import { checkPolicyFile, imageProblem } from './offline-checks.js';

const INIT = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const check = (policy: PolicyInput) =>
  checkPolicyFile({ file: 'p.yaml', problems: [], policy, initImage: INIT });
const spec = (over: Partial<PolicyInput['spec']>): PolicyInput => ({
  metadata: { name: 'mesh' },
  spec: { selector: { namespaces: ['shop'] }, proxy: { image: 'envoyproxy/envoy:v1.34.1' }, ...over },
});

describe('a policy file, offline', () => {
  it('passes a good policy, saying what it selects, its images, capabilities and size', () => {
    const rs = check(spec({}));
    expect(rs.map((r) => [r.name, r.status])).toEqual([
      ['policy-file:p.yaml', 'pass'],
      ['policy-selector:mesh', 'pass'],
      ['policy-images:mesh', 'pass'],
      ['policy-capabilities:mesh', 'pass'],
      ['policy-size:mesh', 'pass'],
    ]);
    expect(rs[3]!.reason).toMatch(
      /NET_ADMIN and NET_RAW, which namespaces enforcing Pod Security baseline or restricted refuse/,
    );
  });

  it('fails a file the API server would refuse (SO190), with every problem', () => {
    const [r] = checkPolicyFile({
      file: 'p.yaml',
      problems: ['kind: must be SidecarPolicy', 'spec.selector: required'],
      initImage: INIT,
    });
    expect(r).toMatchObject({ name: 'policy-file:p.yaml', status: 'fail', code: 'SO190' });
    expect(r!.reason).toBe(
      'not a valid SidecarPolicy (the API server would refuse it): kind: must be SidecarPolicy; spec.selector: required',
    );
  });

  it('warns loose selectors (SO192, SO196) and unpinned images (SO193), fails invalid ones (SO194)', () => {
    const code = (p: PolicyInput, name: string) => check(p).find((r) => r.name === name)?.code;
    expect(code(spec({ selector: { namespaceSelector: {} } }), 'policy-selector:mesh')).toBe('SO192');
    expect(code(spec({ selector: { namespaces: ['kube-system', 'shop'] } }), 'policy-selector:mesh')).toBe(
      'SO196',
    );
    expect(code(spec({ proxy: { image: 'envoyproxy/envoy' } }), 'policy-images:mesh')).toBe('SO193');
    expect(code(spec({ proxy: { image: 'envoyproxy/envoy:latest' } }), 'policy-images:mesh')).toBe('SO193');
    expect(code(spec({ proxy: { image: 'Envoy/Proxy:v1' } }), 'policy-images:mesh')).toBe('SO194');
  });

  it('fails a template over the size limit (SO195)', () => {
    const env = [{ name: 'BIG', value: 'x'.repeat(600 * 1024) }];
    const r = check(spec({ proxy: { image: 'envoyproxy/envoy:v1.34.1', env } })).find(
      (x) => x.name === 'policy-size:mesh',
    );
    expect(r).toMatchObject({ status: 'fail', code: 'SO195' });
  });

  it('reads image references as the kubelet does', () => {
    expect(imageProblem('registry.local:5000/team/envoy:v1@sha256:' + 'a'.repeat(64))).toEqual({});
    expect(imageProblem('envoy@sha256:' + 'a'.repeat(64))).toEqual({});
    expect(imageProblem('envoy').unpinned).toMatch(/no tag/);
    expect(imageProblem('UPPER/case:v1').invalid).toBeDefined();
  });
});
