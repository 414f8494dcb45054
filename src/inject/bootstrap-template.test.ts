import { describe, expect, it } from 'vitest';
import { BootstrapTemplateError, checkTemplate, substitute } from './bootstrap-template.js';

describe('substitute', () => {
  it('replaces the names given and keeps the ones left for later', () => {
    expect(
      substitute('port: {{ outboundPort }} id: {{ podName }}', { outboundPort: '15001' }, ['podName']),
    ).toBe('port: 15001 id: {{ podName }}');
  });

  it('refuses unknown names, other spellings and names not available', () => {
    expect(() => substitute('{{ outbondPort }}', {})).toThrow(/unknown substitution \{\{ outbondPort \}\}/);
    expect(() => substitute('{{outboundPort}}', { outboundPort: '1' })).toThrow(
      'write {{outboundPort}} as {{ outboundPort }}',
    );
    expect(() => substitute('{{ podName }}', { outboundPort: '1' })).toThrow(BootstrapTemplateError);
  });

  it('leaves other braces alone', () => {
    const lua = 'code: "local t = {{1, 2}, {3}}"';
    expect(substitute(lua, {})).toBe(lua);
  });
});

const listener = (port: number) =>
  `    - address: {socket_address: {address: 0.0.0.0, port_value: ${port}}}\n`;

describe('checkTemplate', () => {
  it('accepts a bootstrap with a listener on every required port, pod-start names included', () => {
    const text = `node: {id: "{{ podName }}"}\nstatic_resources:\n  listeners:\n${listener(15001)}${listener(15021)}`;
    expect(() => checkTemplate(text, { outbound: 15001, health: 15021 })).not.toThrow();
  });

  it('counts additional addresses', () => {
    const text =
      'static_resources:\n  listeners:\n    - address: {socket_address: {address: 0.0.0.0, port_value: 1}}\n' +
      '      additional_addresses: [{address: {socket_address: {address: "::", port_value: 2}}}]\n';
    expect(() => checkTemplate(text, { a: 1, b: 2 })).not.toThrow();
  });

  it('names the ports no listener serves', () => {
    const text = `static_resources:\n  listeners:\n${listener(15001)}`;
    expect(() => checkTemplate(text, { 'outbound capture port': 15001, 'health port': 15021 })).toThrow(
      'static_resources.listeners has no listener on the health port 15021',
    );
  });

  it('refuses what is not a YAML object', () => {
    expect(() => checkTemplate('- a\n- b\n', {})).toThrow('must be an object');
    expect(() => checkTemplate('a: [\n', {})).toThrow(/^not YAML or JSON/);
    expect(() => checkTemplate('a: 1\na: 2\n', {})).toThrow(/not YAML or JSON/);
  });
});
