import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { compileTemplate } from '../../inject/index.js';
import { injectManifest, type ObjectPatch } from './inject-manifest.js';

/**
 * For random manifests written in every YAML style we could think of: what a YAML 1.1 reader (the
 * way kubectl reads) gets from the output is the input plus exactly the patch we report, which only
 * adds our containers, volumes and marks; comments survive; and the output injects to itself.
 */

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: false, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const options = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

// ---- a small YAML emitter over raw scalar text, so the input uses styles a library would not write

type Y =
  | { t: 's'; raw: string }
  | { t: 'm'; entries: [string, Y][]; flow: boolean }
  | { t: 'q'; items: Y[]; flow: boolean; indented: boolean };

let comments = 0;
const nextComment = (): string => `# c${comments++}`;
/** Where comments go: a small deterministic generator seeded per document by fast-check. */
let seed = 1;
const coin = (): boolean => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % 3 === 0;
};

function flow(y: Y): string {
  if (y.t === 's') return y.raw;
  if (y.t === 'm') return `{${y.entries.map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  return `[${y.items.map(flow).join(', ')}]`;
}

const inline = (y: Y): boolean => y.t === 's' || y.flow || (y.t === 'm' ? y.entries : y.items).length === 0;

/** Block lines for a collection at `indent`; `withComments` adds comments where YAML keeps them. */
function block(y: Y, indent: number, withComments: boolean): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  if (y.t === 'm') {
    for (const [k, v] of y.entries) {
      if (withComments && coin()) lines.push(`${pad}${nextComment()}`);
      if (inline(v)) {
        const tail = withComments && v.t === 's' && coin() ? ` ${nextComment()}` : '';
        lines.push(`${pad}${k}: ${flow(v)}${tail}`);
      } else {
        lines.push(`${pad}${k}:`);
        const childIndent = v.t === 'q' && !v.indented ? indent : indent + 2;
        lines.push(...block(v, childIndent, withComments));
      }
    }
  } else if (y.t === 'q') {
    for (const item of y.items) {
      if (inline(item)) lines.push(`${pad}- ${flow(item)}`);
      else {
        const inner = block(item, indent + 2, withComments);
        const first = inner.findIndex((l) => !l.trimStart().startsWith('#'));
        inner[first] = `${pad}- ${inner[first]!.trimStart()}`;
        lines.push(...inner);
      }
    }
  }
  return lines;
}

// ---- arbitraries

const s = (raw: string): Y => ({ t: 's', raw });
const map = (entries: [string, Y][], isFlow = false): Y => ({ t: 'm', entries, flow: isFlow });

/** Plain scalars YAML 1.1 reads as something other than the string written. */
const TRICKY = ['yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'True', '~', 'null', '0644', '0o644', '0x1F'].concat(
  ['1_000', '1:20', '190:20:30', '1e3', '.5', '-.inf', '2001-12-14', '+1', '0', '08', '1.0'],
);
const WORDS = ['web', 'nginx:1.25', 'a-b', 'x.y/z', 'hello world', '1.2.3', 'v1', 'UPPER'];

const anyText = fc.constantFrom(...TRICKY, ...WORDS);
/** A scalar the YAML 1.1 reader reads as a string: a word, or anything quoted. */
const stringToken = fc.oneof(
  fc.constantFrom(...WORDS).map(s),
  anyText.map((t) => s(`"${t}"`)),
  anyText.map((t) => s(`'${t}'`)),
);
/** Any scalar, in any style. */
const anyToken = fc.oneof(anyText.map(s), stringToken);

const keyName = fc.constantFrom('alpha', 'beta', 'example.com/gamma', 'delta_1', 'app.kubernetes.io/name');
const stringMap = fc
  .uniqueArray(fc.tuple(keyName, stringToken), { selector: ([k]) => k, maxLength: 3 })
  .chain((entries) => fc.boolean().map((f) => map(entries, f)));
const anyMap = fc
  .uniqueArray(fc.tuple(fc.constantFrom('k1', 'k2', 'on', '0644', '1:20', 'k3'), anyToken), {
    selector: ([k]) => k,
    maxLength: 4,
  })
  .chain((entries) => fc.boolean().map((f) => map(entries, f)));
const seqOf = (item: fc.Arbitrary<Y>) =>
  fc
    .tuple(fc.array(item, { maxLength: 4 }), fc.boolean(), fc.boolean())
    .map(([items, isFlow, indented]): Y => ({ t: 'q', items, flow: isFlow, indented }));

const container = (name: string) =>
  fc
    .record(
      {
        args: seqOf(anyToken),
        env: fc.array(fc.tuple(stringToken, fc.boolean()), { maxLength: 3 }),
        extra: anyMap,
      },
      { requiredKeys: [] },
    )
    .chain((parts) =>
      fc.boolean().map((isFlow) => {
        const entries: [string, Y][] = [
          ['name', s(name)],
          ['image', s('registry.example/app:1')],
        ];
        if (parts.args) entries.push(['args', parts.args]);
        if (parts.env) {
          const items = parts.env.map(([value, f], i) =>
            map(
              [
                ['name', s(`E${i}`)],
                ['value', value],
              ],
              f,
            ),
          );
          entries.push(['env', { t: 'q', items, flow: false, indented: true }]);
        }
        if (parts.extra) entries.push(['x-extra', parts.extra]);
        return map(entries, isFlow);
      }),
    );

const volume = fc
  .tuple(fc.constantFrom('0644', '0400', '420', '0o644', '"0644"'), fc.boolean())
  .map(([mode, f]) =>
    map([
      ['name', s('data')],
      [
        'secret',
        map(
          [
            ['secretName', s('tls')],
            ['defaultMode', s(mode)],
          ],
          f,
        ),
      ],
    ]),
  );

const podSpec = fc
  .record({
    containers: fc.array(fc.constantFrom('app', 'side', 'c3'), { minLength: 1, maxLength: 3 }),
    volumes: fc.option(seqOf(volume), { nil: undefined }),
    extra: fc.option(anyMap, { nil: undefined }),
    hostNetwork: fc.option(fc.constantFrom('false', 'true'), { nil: undefined }),
  })
  .chain((p) =>
    fc.tuple(...[...new Set(p.containers)].map(container)).chain((cs) =>
      fc.tuple(fc.boolean(), fc.boolean()).map(([indented, isFlow]): Y => {
        const entries: [string, Y][] = [['containers', { t: 'q', items: cs, flow: false, indented }]];
        if (p.volumes) entries.push(['volumes', p.volumes]);
        if (p.extra) entries.push(['nodeSelector', p.extra]);
        if (p.hostNetwork) entries.push(['hostNetwork', s(p.hostNetwork)]);
        return map(entries, isFlow && cs.length === 0);
      }),
    ),
  );

const metadata = (name: string) =>
  fc.record({ labels: stringMap, annotations: stringMap }, { requiredKeys: [] }).map((m) => {
    const entries: [string, Y][] = [['name', s(name)]];
    if (m.labels) entries.push(['labels', m.labels]);
    if (m.annotations) entries.push(['annotations', m.annotations]);
    return map(entries);
  });

const WORKLOAD_KINDS = ['Deployment', 'ReplicationController', 'DeploymentConfig', 'Rollout', 'Job'];

const object: fc.Arbitrary<Y> = fc.oneof(
  fc.tuple(metadata('p'), podSpec).map(([m, spec]) =>
    map([
      ['apiVersion', s('v1')],
      ['kind', s('Pod')],
      ['metadata', m],
      ['spec', spec],
    ]),
  ),
  fc
    .tuple(fc.constantFrom(...WORKLOAD_KINDS), metadata('w'), podSpec, anyToken)
    .map(([kind, m, spec, replicas]) =>
      map([
        ['apiVersion', s('example/v1')],
        ['kind', s(kind)],
        ['metadata', map([['name', s('w')]])],
        [
          'spec',
          map([
            ['replicas', replicas],
            [
              'template',
              map([
                ['metadata', m],
                ['spec', spec],
              ]),
            ],
          ]),
        ],
      ]),
    ),
  fc.tuple(metadata('cj'), podSpec).map(([m, spec]) =>
    map([
      ['apiVersion', s('batch/v1')],
      ['kind', s('CronJob')],
      ['metadata', map([['name', s('cj')]])],
      [
        'spec',
        map([
          ['schedule', s('"0 3 * * *"')],
          [
            'jobTemplate',
            map([
              [
                'spec',
                map([
                  [
                    'template',
                    map([
                      ['metadata', m],
                      ['spec', spec],
                    ]),
                  ],
                ]),
              ],
            ]),
          ],
        ]),
      ],
    ]),
  ),
  anyMap.map((data) =>
    map([
      ['apiVersion', s('v1')],
      ['kind', s('ConfigMap')],
      ['metadata', map([['name', s('c')]])],
      ['data', data],
    ]),
  ),
);

const document: fc.Arbitrary<Y> = fc.oneof(
  { weight: 4, arbitrary: object },
  {
    weight: 1,
    arbitrary: fc.array(object, { minLength: 1, maxLength: 3 }).map((items) =>
      map([
        ['apiVersion', s('v1')],
        ['kind', s('List')],
        ['items', { t: 'q', items, flow: false, indented: true }],
      ]),
    ),
  },
);

const manifest = fc
  .tuple(
    fc.array(fc.tuple(document, fc.boolean(), fc.nat()), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', '---\n'),
    fc.constantFrom('', '---\n', '---\n# trailing\n'),
  )
  .map(([docs, lead, trail]) => {
    comments = 0;
    const body = docs
      .map(([d, withComments, n]) => {
        seed = n + 1;
        return `${block(d, 0, withComments).join('\n')}\n`;
      })
      .join('---\n');
    return lead + body + trail;
  });

// ---- the property

const read11 = (text: string): unknown[] =>
  parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as unknown);

const OUR_KEYS = ['sidecar.dev/status', 'sidecar.dev/revision', 'kubectl.kubernetes.io/default-container'];

/** What the value at a JSON Pointer is, or undefined when absent. */
function valueAt(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const token of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return v;
}

const nameOf = (v: unknown): unknown => (v as { name?: unknown } | null)?.name;

/** The patch only adds our containers, volumes and marks; `add` onto a present key only replaces a null. */
function onlyOurs(before: unknown, p: ObjectPatch): void {
  for (const op of p.patch) {
    expect(op.op, op.path).toBe('add');
    if (op.op !== 'add') continue;
    const last = op.path.split('/').pop()!.replaceAll('~1', '/');
    const value = op.value as Record<string, unknown>;
    if (/\/(initContainers|containers|volumes)(\/(\d+|-))?$/.test(op.path)) {
      const added = Array.isArray(value) ? value : [value];
      for (const item of added) expect(String(nameOf(item)), op.path).toMatch(/^sidecar-/);
    } else if (/\/metadata\/(annotations|labels)\/[^/]+$/.test(op.path)) {
      expect(OUR_KEYS).toContain(last);
    } else if (last === 'annotations' || last === 'labels') {
      for (const k of Object.keys(value)) expect(OUR_KEYS).toContain(k);
    } else if (last === 'metadata') {
      for (const m of [value.annotations, value.labels])
        for (const k of Object.keys(m ?? {})) expect(OUR_KEYS).toContain(k);
    } else expect.unreachable(`unexpected operation on ${op.path}`);
    if (!/\/(\d+|-)$/.test(op.path)) expect(valueAt(before, op.path) ?? null, op.path).toBeNull();
  }
}

describe('inject round trip (property)', () => {
  it('reads back, as YAML 1.1, the input plus exactly what it reports to have added', () => {
    fc.assert(
      fc.property(manifest, (text) => {
        const { out, patches } = injectManifest('m.yaml', text, template, options);
        const before = read11(text);
        const after = read11(out);
        expect(after.length).toBe(before.length);
        const expected = structuredClone(before) as Record<string, unknown>[];
        for (const p of patches) {
          const target =
            p.item === undefined
              ? expected[p.document]
              : (expected[p.document] as { items: unknown[] }).items[p.item];
          onlyOurs(target, p);
          const patched = jsonpatch.applyPatch(
            target,
            structuredClone(p.patch) as jsonpatch.Operation[],
            true,
            true,
          );
          if (p.item === undefined) expected[p.document] = patched.newDocument as Record<string, unknown>;
        }
        expect(after).toEqual(expected);
        for (const c of text.match(/# c\d+/g) ?? []) expect(out).toContain(c);
        // Injecting the output again changes nothing, byte for byte.
        expect(injectManifest('m.yaml', out, template, options).out).toBe(out);
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
