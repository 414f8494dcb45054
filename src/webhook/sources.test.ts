import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CompiledTemplate } from '../inject/index.js';
import { renderInjectorTemplate } from '../render/injector-configmap.js';
import { TemplateSet } from './sources.js';

const template = (policy: string, revision: string): CompiledTemplate =>
  ({
    policy,
    revision,
    proxyContainer: { name: 'sidecar-proxy' },
    volumes: [],
  }) as unknown as CompiledTemplate;
const revisions = (set: TemplateSet) =>
  Object.fromEntries([...set.templates()].map(([k, t]) => [k, t.revision]));
const cm = (policy: string, revision: string) => renderInjectorTemplate('ops', template(policy, revision));
const key = (policy: string) => `ops/sidecar-injector-${policy}`;

describe('the template set the webhook serves', () => {
  it('holds each policy’s own template, keeps the last good one over a malformed one, drops a deleted one', () => {
    const set = new TemplateSet(pino({ level: 'silent' }));
    expect(revisions(set)).toEqual({});
    set.put(key('a'), cm('a', 'r1'));
    set.put(key('b'), cm('b', 'r1'));
    set.put(key('a'), cm('a', 'r2'));
    expect(revisions(set)).toEqual({ a: 'r2', b: 'r1' });
    set.put(key('a'), { ...cm('a', 'r3'), data: { 'template.json': '{' } });
    expect(revisions(set)).toEqual({ a: 'r2', b: 'r1' });
    set.remove(key('b'));
    expect(revisions(set)).toEqual({ a: 'r2' });
  });

  it('falls back on an older release’s shared ConfigMap for policies without their own, until it goes', () => {
    const set = new TemplateSet(pino({ level: 'silent' }));
    const legacy = (entries: Record<string, string>) => ({
      data: Object.fromEntries(Object.entries(entries).map(([p, r]) => [p, JSON.stringify(template(p, r))])),
    });
    set.setLegacy(legacy({ a: 'old', b: 'old' }));
    expect(revisions(set)).toEqual({ a: 'old', b: 'old' });
    set.put(key('a'), cm('a', 'new'));
    expect(revisions(set)).toEqual({ a: 'new', b: 'old' });
    // A malformed shared entry keeps its last good template.
    set.setLegacy({ data: { ...legacy({ a: 'old' }).data, b: 'junk' } });
    expect(revisions(set)).toEqual({ a: 'new', b: 'old' });
    set.setLegacy(undefined);
    expect(revisions(set)).toEqual({ a: 'new' });
  });
});
