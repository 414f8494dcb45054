import { describe, expect, it } from 'vitest';
import { loadPolicy } from './inject.js';

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
