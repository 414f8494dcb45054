import { describe, expect, it } from 'vitest';
import type { CompiledTemplate } from '../inject/index.js';
import {
  injectorTemplateInPlace,
  injectorTemplateName,
  MAX_TEMPLATE_BYTES,
  parseInjectorTemplate,
  parseInjectorTemplates,
  parseLegacyInjectorConfigMap,
  renderInjectorTemplate,
  TEMPLATE_KEY,
  templatePolicy,
  templateSize,
} from './injector-configmap.js';

const template = (policy: string, revision = 'r1', extra = ''): CompiledTemplate =>
  ({
    policy,
    revision,
    proxyContainer: { name: 'sidecar-proxy', env: [{ name: 'X', value: extra }] },
    volumes: [],
  }) as unknown as CompiledTemplate;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('per-policy injector template ConfigMaps', () => {
  it('are named after the policy, within 253 characters for any policy name', () => {
    expect(injectorTemplateName('mesh')).toBe('sidecar-injector-mesh');
    const longest = `${'a'.repeat(62)}b`;
    expect(injectorTemplateName(longest)).toBe(`sidecar-injector-${longest}`);
    // A name stored before the 63-character rule, up to the API's 253.
    const long1 = `${'x'.repeat(240)}.a-b-c.d${'e'.repeat(5)}`;
    const long2 = `${'x'.repeat(240)}.a-b-c.d${'f'.repeat(5)}`;
    for (const n of [long1, long2, `${'y'.repeat(235)}.-.z`]) {
      const name = injectorTemplateName(n);
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(DNS_SUBDOMAIN);
    }
    expect(injectorTemplateName(long1)).not.toBe(injectorTemplateName(long2));
  });

  it('carry the template under one key, labelled for the watches, and read back', () => {
    const cm = renderInjectorTemplate('ops', template('mesh'));
    expect(cm.metadata).toMatchObject({
      name: 'sidecar-injector-mesh',
      namespace: 'ops',
      labels: {
        'app.kubernetes.io/managed-by': 'sidecar-operator',
        'sidecar.dev/injector-template': 'true',
        'sidecar.dev/policy': 'mesh',
      },
    });
    expect(Object.keys(cm.data!)).toEqual([TEMPLATE_KEY]);
    expect(parseInjectorTemplate(cm)).toEqual({ template: template('mesh') });
    expect(templatePolicy(cm)).toBe('mesh');
    // A name no label value can hold: no policy label, the template names it.
    const long = 'p'.repeat(70);
    const unlabelled = renderInjectorTemplate('ops', template(long));
    expect(unlabelled.metadata?.labels?.['sidecar.dev/policy']).toBeUndefined();
    expect(templatePolicy(unlabelled)).toBe(long);
  });

  it('refuse a template under another policy’s label or name, and malformed JSON', () => {
    const cm = renderInjectorTemplate('ops', template('mesh'));
    const relabelled = { ...cm, metadata: { ...cm.metadata, labels: { 'sidecar.dev/policy': 'other' } } };
    expect(parseInjectorTemplate(relabelled)).toHaveProperty('error');
    const renamed = { ...cm, metadata: { ...cm.metadata, name: 'sidecar-injector-other' } };
    expect(parseInjectorTemplate(renamed)).toHaveProperty('error');
    const broken = { ...cm, data: { [TEMPLATE_KEY]: '{' } };
    expect(parseInjectorTemplate(broken)).toMatchObject({ error: expect.stringContaining('invalid JSON') });
    const all = parseInjectorTemplates([cm, broken, renderInjectorTemplate('ops', template('b'))]);
    expect([...all.templates.keys()]).toEqual(['mesh', 'b']);
    expect(all.errors).toEqual([{ key: 'mesh', reason: expect.stringContaining('invalid JSON') }]);
  });

  it('read the shared ConfigMap of an older release, entry by entry', () => {
    const parsed = parseLegacyInjectorConfigMap({
      data: { a: JSON.stringify(template('a')), b: JSON.stringify(template('c')), d: 'nope' },
    });
    expect([...parsed.templates.keys()]).toEqual(['a']);
    expect(parsed.errors.map((e) => e.key)).toEqual(['b', 'd']);
  });

  it('are in place only with the same template and at least the labels', () => {
    const desired = renderInjectorTemplate('ops', template('mesh'));
    expect(injectorTemplateInPlace(undefined, desired)).toBe(false);
    expect(injectorTemplateInPlace(structuredClone(desired), desired)).toBe(true);
    const extra = structuredClone(desired);
    extra.metadata!.labels!.x = 'y';
    extra.data!.other = 'kept';
    expect(injectorTemplateInPlace(extra, desired)).toBe(true);
    expect(injectorTemplateInPlace(renderInjectorTemplate('ops', template('mesh', 'r2')), desired)).toBe(
      false,
    );
    const unlabelled = structuredClone(desired);
    delete unlabelled.metadata!.labels!['sidecar.dev/injector-template'];
    expect(injectorTemplateInPlace(unlabelled, desired)).toBe(false);
  });

  it('measure a template in UTF-8 bytes against the per-policy limit', () => {
    const small = templateSize(template('mesh'));
    expect(small.tooLarge).toBe(false);
    const overhead = small.bytes;
    expect(templateSize(template('mesh', 'r1', 'x'.repeat(MAX_TEMPLATE_BYTES - overhead)))).toEqual({
      bytes: MAX_TEMPLATE_BYTES,
      tooLarge: false,
    });
    expect(templateSize(template('mesh', 'r1', 'x'.repeat(MAX_TEMPLATE_BYTES - overhead + 1))).tooLarge).toBe(
      true,
    );
    // Characters beyond ASCII count by their bytes.
    expect(templateSize(template('mesh', 'r1', 'é')).bytes).toBe(overhead + 2);
  });
});
