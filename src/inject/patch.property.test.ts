import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Container, type Pod } from './index.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const name = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);
// Keys with "/" and "~" exercise pointer escaping; "sidecar.dev/status" (a foreign value) makes the
// pod look injected and must then produce no patch at all.
const key = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9.~/-]{0,20}$/),
  fc.constantFrom(
    'sidecar.dev/revision',
    'sidecar.dev/status',
    'a~1b',
    'x/~0',
    'traffic.sidecar.dev/excludeOutboundIPRanges',
  ),
);
const stringMap = fc.dictionary(key, fc.string({ maxLength: 8 }), { maxKeys: 4 });
const port = fc.record({
  containerPort: fc.integer({ min: 1, max: 65535 }),
  protocol: fc.constantFrom('TCP', 'UDP', undefined),
});

function uniqueByName<T extends { name: string }>(
  arb: fc.Arbitrary<T>,
  max: number,
  min = 0,
): fc.Arbitrary<T[]> {
  return fc.uniqueArray(arb, { minLength: min, maxLength: max, selector: (c) => c.name });
}

const container: fc.Arbitrary<Container> = fc.record(
  {
    name,
    image: fc.constant('registry.example/app:1'),
    ports: fc.array(port, { maxLength: 3 }),
    restartPolicy: fc.constant('Always'),
  },
  { requiredKeys: ['name', 'image'] },
);

const pod: fc.Arbitrary<Pod> = fc.record(
  {
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Pod'),
    metadata: fc.record(
      {
        name,
        labels: stringMap,
        annotations: stringMap,
        managedFields: fc.constant([{ manager: 'kubectl', operation: 'Update' }]),
      },
      { requiredKeys: [] },
    ),
    spec: fc.record(
      {
        containers: uniqueByName(container, 4, 1),
        initContainers: uniqueByName(container, 3),
        volumes: uniqueByName(fc.record({ name, emptyDir: fc.constant({}) }), 3),
        hostNetwork: fc.constantFrom(false, undefined),
      },
      { requiredKeys: ['containers'] },
    ),
  },
  { requiredKeys: ['apiVersion', 'kind'] },
);

const templates = [true, false].flatMap((nativeSidecars) =>
  [true, false].map((hold) =>
    compileTemplate(
      {
        metadata: { name: 'mesh' },
        spec: {
          selector: { namespaces: ['apps'] },
          injection: { holdApplicationUntilProxyStarts: hold, allowedOverrides: ['excludeOutboundIPRanges'] },
        },
      },
      { nativeSidecars, initImage },
    ),
  ),
);
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

describe('the JSON Patch', () => {
  it('is valid RFC 6902 and turns the input into the injected pod', () => {
    fc.assert(
      fc.property(pod, fc.constantFrom(...templates), (input, template) => {
        const frozen = structuredClone(input);
        const result = injectPod(input, template, ctx);
        expect(input).toEqual(frozen);
        expect(jsonpatch.validate(result.patch, structuredClone(input))).toBeUndefined();
        const patched = jsonpatch.applyPatch(structuredClone(input), result.patch, true, false).newDocument;
        expect(patched).toEqual(JSON.parse(JSON.stringify(result.pod)));
        if (!result.decision.inject) expect(result.patch).toEqual([]);
        // Only additions (and, on existing map keys, replacement by add): nothing of the app is removed.
        expect(result.patch.every((op) => op.op === 'add')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('re-injection with a new revision is also a valid patch that reaches the engine’s pod', () => {
    const next = compileTemplate(
      {
        metadata: { name: 'mesh' },
        spec: { selector: { namespaces: ['apps'] }, proxy: { image: 'registry.example/proxy:2' } },
      },
      { nativeSidecars: true, initImage },
    );
    fc.assert(
      fc.property(pod, fc.constantFrom(...templates), (input, template) => {
        const first = injectPod(input, template, ctx);
        const again = injectPod(first.pod, next, { ...ctx, reinject: true });
        expect(jsonpatch.validate(again.patch, structuredClone(first.pod))).toBeUndefined();
        const patched = jsonpatch.applyPatch(
          structuredClone(first.pod),
          again.patch,
          true,
          false,
        ).newDocument;
        expect(patched).toEqual(JSON.parse(JSON.stringify(again.pod)));
      }),
      { numRuns: 200 },
    );
  });
});
