import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderBootstrap } from './bootstrap.js';
import { resolveAtStart } from './proxy-config-start.js';

const start = { podName: 'web-7d9f-x2', podNamespace: 'shop', podIP: '10.1.2.3', ipv6: false };

const text = stringify(
  renderBootstrap({
    policy: 'p',
    mode: 'REDIRECT',
    outboundPort: 15001,
    inboundPort: 15006,
    adminPort: 15000,
    healthPort: 15021,
    metricsPort: 15090,
    tproxyMark: 1337,
  }),
  { lineWidth: 0 },
);

// Envoy's configuration as plain JSON: the tests walk it freely.
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('resolveAtStart', () => {
  it('fills in the pod’s name and namespace, and nothing else changes', () => {
    const out = resolveAtStart(text, start);
    expect(parse(out).node).toMatchObject({ id: 'web-7d9f-x2.shop', cluster: 'shop' });
    expect(
      out
        .replace('web-7d9f-x2.shop', '{{ podName }}.{{ podNamespace }}')
        .replace('"shop"', '"{{ podNamespace }}"'),
    ).toBe(text);
  });

  it('leaves a value it is not given as it is', () => {
    const out = resolveAtStart(text, { podNamespace: 'shop', ipv6: false });
    expect(parse(out).node.id).toBe('{{ podName }}.shop');
  });

  it('with IPv6, binds [::] too on every listener bound to 0.0.0.0, on the same port', () => {
    const doc = parse(resolveAtStart(text, { ...start, ipv6: true })) as Any;
    const listeners = doc.static_resources.listeners as Any[];
    expect(listeners).toHaveLength(4);
    for (const l of listeners) {
      expect(l.additional_addresses).toEqual([
        { address: { socket_address: { address: '::', port_value: l.address.socket_address.port_value } } },
      ]);
    }
    // The admin interface stays on 127.0.0.1 only.
    expect(doc.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 15000 });
  });

  it('leaves listeners that already bind IPv6, or a specific address, alone', () => {
    const custom = [
      'static_resources:',
      '  listeners:',
      '    - {name: a, address: {socket_address: {address: "::", port_value: 1, ipv4_compat: true}}}',
      '    - name: b',
      '      address: {socket_address: {address: 0.0.0.0, port_value: 2}}',
      '      additional_addresses: [{address: {socket_address: {address: "::", port_value: 2}}}]',
      '    - {name: c, address: {socket_address: {address: 127.0.0.1, port_value: 3}}}',
      '',
    ].join('\n');
    expect(resolveAtStart(custom, { ...start, ipv6: true })).toBe(custom);
  });

  it('adds to a listener’s IPv4 additional addresses, and keeps comments', () => {
    const custom = [
      '# kept',
      'static_resources:',
      '  listeners:',
      '    - address: {socket_address: {address: 0.0.0.0, port_value: 1}}',
      '      additional_addresses: [{address: {socket_address: {address: 10.0.0.1, port_value: 1}}}]',
      '',
    ].join('\n');
    const out = resolveAtStart(custom, { ...start, ipv6: true });
    expect(out.startsWith('# kept\n')).toBe(true);
    expect((parse(out) as Any).static_resources.listeners[0].additional_addresses).toEqual([
      { address: { socket_address: { address: '10.0.0.1', port_value: 1 } } },
      { address: { socket_address: { address: '::', port_value: 1 } } },
    ]);
  });

  it('is idempotent with IPv6', () => {
    const once = resolveAtStart(text, { ...start, ipv6: true });
    expect(resolveAtStart(once, { ...start, ipv6: true })).toBe(once);
  });
});
