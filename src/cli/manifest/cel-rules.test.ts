import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { celProblems, type RuleSchema } from './cel-rules.js';

const crd = parse(
  readFileSync(
    join(import.meta.dirname, '..', '..', '..', 'crds', 'sidecar.dev_sidecarpolicies.yaml'),
    'utf8',
  ),
) as { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: RuleSchema } } } }[] } };
const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
const resources = spec.properties!.proxy!.properties!.resources!;

describe('the CRD’s CEL rules offline', () => {
  it('evaluates Kubernetes’ quantity library: requests above limits refused, as the API server does', () => {
    const above = celProblems(
      { requests: { cpu: '2' }, limits: { cpu: '1500m' } },
      resources,
      'spec.proxy.resources',
    );
    expect(above).toHaveLength(1);
    expect(above[0]).toMatch(/^spec\.proxy\.resources\.requests: each request must be at most the limit/);
    expect(
      celProblems(
        { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 1, memory: '1024Mi' } },
        resources,
        'x',
      ),
    ).toEqual([]);
    expect(celProblems({ requests: { memory: 2 }, limits: { memory: '1' } }, resources, 'x')).toHaveLength(1);
  });

  it('evaluates Kubernetes’ list sum: the proxy’s env, args and command bounded together', () => {
    const proxy = spec.properties!.proxy!;
    const env = (n: number) => [{ name: 'A', value: 'x'.repeat(n) }, { name: 'B' }];
    expect(
      celProblems({ env: env(262_144 - 4), args: ['ab'], command: ['cd'] }, proxy, 'spec.proxy'),
    ).toEqual([]);
    const over = celProblems({ env: env(262_144 - 4), args: ['abc'], command: ['cd'] }, proxy, 'spec.proxy');
    expect(over).toHaveLength(1);
    expect(over[0]).toMatch(/^spec\.proxy\.env: /);
  });

  it('every rule of the CRD compiles and evaluates on a defaulted minimal policy', () => {
    expect(celProblems({ selector: { namespaces: ['a'] } }, spec, 'spec')).toEqual([]);
  });
});
