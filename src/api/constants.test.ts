import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  API_VERSION,
  ConditionType,
  CRD_NAME,
  GROUP,
  KIND,
  OVERRIDE_ANNOTATIONS,
  OVERRIDE_NAMES,
  PLURAL,
  policyPath,
  policyStatusPath,
  Reason,
  SHORT_NAME,
  VERSION,
} from './index.js';

const crd = parse(
  readFileSync(join(import.meta.dirname, '../../crds/sidecar.dev_sidecarpolicies.yaml'), 'utf8'),
);
const version = crd.spec.versions[0];
const spec = version.schema.openAPIV3Schema.properties.spec;

describe('API constants', () => {
  it('match the CRD', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Cluster');
    expect(version.name).toBe(VERSION);
    expect(API_VERSION).toBe('sidecar.dev/v1alpha1');
    expect(crd.spec.names).toMatchObject({ kind: KIND, plural: PLURAL, shortNames: [SHORT_NAME] });
  });

  it('know exactly the override names the schema allows', () => {
    const allowed = spec.properties.injection.properties.allowedOverrides.items.enum;
    expect([...OVERRIDE_NAMES]).toEqual(allowed);
  });

  it('map traffic overrides to traffic.sidecar.dev/ and resource overrides to sidecar.dev/', () => {
    for (const name of OVERRIDE_NAMES) {
      const prefix = name.startsWith('proxy') ? 'sidecar.dev/' : 'traffic.sidecar.dev/';
      expect(OVERRIDE_ANNOTATIONS[name]).toBe(`${prefix}${name}`);
    }
  });

  it('build REST paths', () => {
    expect(policyPath()).toBe('/apis/sidecar.dev/v1alpha1/sidecarpolicies');
    expect(policyPath('mesh-default')).toBe('/apis/sidecar.dev/v1alpha1/sidecarpolicies/mesh-default');
    expect(policyStatusPath('a')).toBe('/apis/sidecar.dev/v1alpha1/sidecarpolicies/a/status');
  });

  it('use condition types and reasons that metav1.Condition accepts', () => {
    const conditions =
      version.schema.openAPIV3Schema.properties.status.properties.conditions.items.properties;
    const reasonPattern = new RegExp(conditions.reason.pattern);
    const typePattern = new RegExp(conditions.type.pattern);
    for (const t of Object.values(ConditionType)) expect(t).toMatch(typePattern);
    for (const r of Object.values(Reason)) expect(r).toMatch(reasonPattern);
    expect(Object.values(ConditionType).sort()).toEqual([
      'CertificateReady',
      'Conflict',
      'NamespacesSynced',
      'PodsAdmissible',
      'Ready',
      'TemplateRendered',
      'WebhookConfigured',
    ]);
  });
});
