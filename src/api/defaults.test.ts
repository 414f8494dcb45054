import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { specDefaults } from './generated/defaults.js';
import { withDefaults } from './defaults.js';
import type { SidecarPolicySpec } from './index.js';

interface Node {
  default?: unknown;
  properties?: Record<string, Node>;
}

const crd = parse(
  readFileSync(join(import.meta.dirname, '../../crds/sidecar.dev_sidecarpolicies.yaml'), 'utf8'),
);
const specSchema: Node = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;

/**
 * Every [path, default] for a field with a non-object default, read straight from the CRD file, that
 * an empty spec reaches: defaults inside an optional object without a default of its own (e.g.
 * proxy.bootstrap.xds) apply only once the object is written.
 */
function leafDefaults(node: Node, path: string[] = []): [string[], unknown][] {
  const out: [string[], unknown][] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = [...path, key];
    const d = child.default;
    if (
      d !== undefined &&
      (typeof d !== 'object' || Array.isArray(d) || Object.keys(d as object).length > 0)
    ) {
      out.push([p, d]);
    }
    if (d !== undefined) out.push(...leafDefaults(child, p));
  }
  return out;
}

function at(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
}

const selector = { namespaces: ['bookinfo'] };

describe('withDefaults', () => {
  const leaves = leafDefaults(specSchema);

  it('finds the defaults of the CRD file', () => {
    expect(leaves.length).toBeGreaterThanOrEqual(20);
  });

  it.each(leaves.map(([p, d]) => [p.join('.'), p, d] as const))(
    'fills %s from the schema',
    (_name, path, d) => {
      expect(at(withDefaults({ selector }), path)).toEqual(d);
      expect(at(specDefaults, path)).toEqual(d);
    },
  );

  it('gives the documented Istio-compatible values', () => {
    const s = withDefaults({ selector });
    expect(s.proxy.uid).toBe(1337);
    expect(s.proxy.ports).toEqual({ admin: 15000, status: 15020, health: 15021, metrics: 15090 });
    expect(s.interception).toMatchObject({ mode: 'REDIRECT', outboundPort: 15001, inboundPort: 15006 });
    expect(s.injection).toEqual({
      sidecarMode: 'Auto',
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      holdApplicationUntilProxyStarts: true,
    });
  });

  it('defaults inside an optional object once it is written', () => {
    const s = withDefaults({
      selector,
      proxy: { bootstrap: { mode: 'Xds', xds: { host: 'cp', port: 18000 } } },
    });
    expect(s.proxy.bootstrap.xds).toEqual({ host: 'cp', port: 18000, apiType: 'GRPC' });
    expect(withDefaults({ selector }).proxy.bootstrap).toEqual({ mode: 'Default' });
  });

  it('keeps what the user set and defaults the rest inside it', () => {
    const spec: SidecarPolicySpec = {
      selector,
      proxy: { image: 'example/proxy:1', ports: { admin: 19000 }, resources: { limits: { memory: '1Gi' } } },
      interception: { mode: 'TPROXY', includeInboundPorts: ['9080'] },
    };
    const s = withDefaults(spec);
    expect(s.proxy.image).toBe('example/proxy:1');
    expect(s.proxy.ports).toEqual({ admin: 19000, status: 15020, health: 15021, metrics: 15090 });
    expect(s.proxy.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '1Gi' },
    });
    expect(s.interception.mode).toBe('TPROXY');
    expect(s.interception.includeInboundPorts).toEqual(['9080']);
    expect(s.interception.includeOutboundIPRanges).toEqual(['*']);
  });

  it('leaves an explicitly empty value alone, as the API server does', () => {
    const s = withDefaults({
      selector,
      proxy: { resources: { requests: {} } },
      interception: { includeInboundPorts: [] },
    });
    expect(s.proxy.resources.requests).toEqual({});
    expect(s.interception.includeInboundPorts).toEqual([]);
  });

  it('treats null as absent', () => {
    const s = withDefaults({ selector, rollout: null } as unknown as SidecarPolicySpec);
    expect(s.rollout).toEqual({ strategy: 'Manual', maxUnavailable: 1 });
  });

  it('does not change its input or share the defaults', () => {
    const spec: SidecarPolicySpec = { selector, proxy: {} };
    const a = withDefaults(spec);
    expect(spec).toEqual({ selector, proxy: {} });
    a.interception.includeOutboundIPRanges.push('10.0.0.0/8');
    a.proxy.ports.admin = 1;
    const b = withDefaults({ selector });
    expect(b.interception.includeOutboundIPRanges).toEqual(['*']);
    expect(b.proxy.ports.admin).toBe(15000);
    expect(specDefaults.interception.includeOutboundIPRanges).toEqual(['*']);
  });

  it('is idempotent', () => {
    const once = withDefaults({ selector, proxy: { uid: 2000 } });
    expect(withDefaults(once)).toEqual(once);
  });
});
