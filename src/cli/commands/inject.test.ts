import { describe, expect, it } from 'vitest';
import { loadPolicy, parseNamespaceLabels } from './inject.js';

const policy = `apiVersion: sidecar.dev/v1alpha1
kind: SidecarPolicy
metadata: {name: mesh}
spec:
  selector: {namespaces: [apps]}
`;

describe('loadPolicy', () => {
  it.each([
    ['a trailing ---', `${policy}---\n`],
    ['a leading comment document', `# generated\n---\n${policy}`],
    ['empty documents around it', `---\n---\n${policy}---\n\n---\n`],
  ])('accepts a policy with %s', (_what, text) => {
    expect(loadPolicy('p.yaml', text).metadata?.name).toBe('mesh');
  });

  it('refuses two policies, naming the second document', () => {
    expect(() => loadPolicy('p.yaml', `---\n${policy}---\n${policy}`)).toThrow(
      'inject: p.yaml: document 1: expected exactly one SidecarPolicy, found 2 documents',
    );
  });

  it('names the document that is not a policy when empty ones come first', () => {
    expect(() => loadPolicy('p.yaml', `---\n---\n${policy.replace('SidecarPolicy', 'Pod')}`)).toThrow(
      'inject: p.yaml: document 1: kind: must be SidecarPolicy',
    );
  });

  it('reads YAML 1.1 as the API server does: an unquoted no is a boolean, not a namespace', () => {
    expect(() => loadPolicy('p.yaml', policy.replace('[apps]', '[apps, no]'))).toThrow(
      'inject: p.yaml: document 0: spec.selector.namespaces[1]: must be a string',
    );
    expect(loadPolicy('p.yaml', policy.replace('[apps]', '[apps, "no"]')).spec?.selector?.namespaces).toEqual(
      ['apps', 'no'],
    );
  });
});

describe('loadPolicy reports every problem at once', () => {
  it('names each field, in document order', () => {
    const text = `apiVersion: sidecar.dev/v1
kind: SidecarPolicy
metadata: {name: p}
spec:
  selector: {namespaces: [Bad_Name]}
  priority: high
  injection: {sidecarMode: Sometimes, colour: blue}
`;
    expect(() => loadPolicy('p.yaml', text)).toThrow(
      'inject: p.yaml: document 0: apiVersion: must be sidecar.dev/v1alpha1; ' +
        'spec.selector.namespaces[0]: must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$; ' +
        'spec.priority: must be an integer; ' +
        'spec.injection.sidecarMode: must be one of "Auto", "Native", "Classic"; ' +
        'spec.injection.colour: unknown field',
    );
  });
});

describe('parseNamespaceLabels', () => {
  it('reads k=v pairs, and nothing as no labels', () => {
    expect(parseNamespaceLabels('mesh=on, team=a=b,empty=')).toEqual({ mesh: 'on', team: 'a=b', empty: '' });
    expect(parseNamespaceLabels('')).toEqual({});
    expect(() => parseNamespaceLabels('mesh')).toThrow('--namespace-labels: "mesh" is not key=value');
  });
});
