import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  caGeneration,
  createCA,
  inspectCertificate,
  isBundleDistributed,
  isIssuedBy,
  issueServingCertificate,
  joinPemBundle,
  keyMatchesCertificate,
  serviceHosts,
  splitPemBundle,
  validityWindow,
  verifyLeaf,
} from './authority.js';

const now = new Date('2030-01-01T00:00:00Z');
const DAY = 86_400_000;
const hosts = serviceHosts({
  service: 'sidecar-operator',
  namespace: 'mesh-system',
  extraHosts: ['127.0.0.1', 'localhost', '::1'],
});

describe('serviceHosts', () => {
  it('names the Service four ways, and the extra hosts as DNS names or IPs', () => {
    expect(hosts.dnsNames).toEqual([
      'sidecar-operator',
      'sidecar-operator.mesh-system',
      'sidecar-operator.mesh-system.svc',
      'sidecar-operator.mesh-system.svc.cluster.local',
      'localhost',
    ]);
    expect(hosts.ipAddresses).toEqual(['127.0.0.1', '::1']);
  });
});

describe('createCA', () => {
  it('makes a self-signed ECDSA P-256 CA with the generation in its name', async () => {
    const ca = await createCA({ generation: 3, now, lifetimeMs: 365 * DAY });
    const info = inspectCertificate(ca.certPem);
    expect(info.subject).toBe('CN=sidecar-operator-ca-3');
    expect(info.issuer).toBe(info.subject);
    expect(info.isCA).toBe(true);
    expect(caGeneration(info)).toBe(3);
    expect(info.notAfter.toISOString()).toBe('2031-01-01T00:00:00.000Z');
    expect(info.notBefore.getTime()).toBe(now.getTime() - 60_000);
    // Node's own X.509 parser agrees (an independent reading of the DER).
    const node = new X509Certificate(ca.certPem);
    expect(node.ca).toBe(true);
    expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(await keyMatchesCertificate(ca)).toBe(true);
  });

  it('supports RSA-2048', async () => {
    const ca = await createCA({ generation: 1, now, lifetimeMs: DAY, keyAlgorithm: 'RSA-2048' });
    expect(new X509Certificate(ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const leaf = await issueServingCertificate({ ca, hosts, now, lifetimeMs: DAY, keyAlgorithm: 'RSA-2048' });
    expect(await verifyLeaf(leaf.certPem, ca.certPem, now)).toMatchObject({ ok: true });
  });
});

describe('issueServingCertificate', () => {
  it('issues a leaf for the hosts that chains to its CA', async () => {
    const ca = await createCA({ generation: 1, now, lifetimeMs: 365 * DAY });
    const leaf = await issueServingCertificate({ ca, hosts, now, lifetimeMs: 90 * DAY });
    const info = inspectCertificate(leaf.certPem);
    expect(info.dnsNames).toEqual(hosts.dnsNames);
    expect(info.ipAddresses).toEqual(['127.0.0.1', '::1']);
    expect(info.isCA).toBe(false);
    expect(info.notAfter.getTime()).toBe(now.getTime() + 90 * DAY);
    expect(isIssuedBy(info, inspectCertificate(ca.certPem))).toBe(true);
    expect(await verifyLeaf(leaf.certPem, ca.certPem, now)).toEqual({
      ok: true,
      issuer: 'CN=sidecar-operator-ca-1',
    });
    expect(await keyMatchesCertificate(leaf)).toBe(true);
    expect(await keyMatchesCertificate({ certPem: leaf.certPem, keyPem: ca.keyPem })).toBe(false);
    const node = new X509Certificate(leaf.certPem);
    expect(node.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(node.checkHost('sidecar-operator.mesh-system.svc')).toBe('sidecar-operator.mesh-system.svc');
    expect(node.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('never lets a leaf outlive its CA', async () => {
    const ca = await createCA({ generation: 1, now, lifetimeMs: 30 * DAY });
    const caInfo = inspectCertificate(ca.certPem);
    const later = new Date(now.getTime() + 20 * DAY);
    const leaf = inspectCertificate(
      (await issueServingCertificate({ ca, hosts, now: later, lifetimeMs: 90 * DAY })).certPem,
    );
    expect(leaf.notAfter.getTime()).toBe(caInfo.notAfter.getTime());
    const afterCA = new Date(caInfo.notAfter.getTime() + 1000);
    await expect(issueServingCertificate({ ca, hosts, now: afterCA, lifetimeMs: DAY })).rejects.toThrow(
      /expired/,
    );
  });

  it('works with lifetimes of seconds (backdated by a tenth, at most a minute)', () => {
    const w = validityWindow(now, 30_000);
    expect(w.notBefore.getTime()).toBe(now.getTime() - 3_000);
    expect(w.notAfter.getTime()).toBe(now.getTime() + 30_000);
    expect(() => validityWindow(now, 10)).toThrow(/at least 1s/);
  });
});

describe('verifyLeaf', () => {
  it('rejects a leaf from another CA, an expired leaf and an expired CA', async () => {
    const ca1 = await createCA({ generation: 1, now, lifetimeMs: 10 * DAY });
    const ca2 = await createCA({ generation: 2, now, lifetimeMs: 365 * DAY });
    const leaf = await issueServingCertificate({ ca: ca1, hosts, now, lifetimeMs: 5 * DAY });
    expect(await verifyLeaf(leaf.certPem, ca2.certPem, now)).toMatchObject({ ok: false });
    expect(await verifyLeaf(leaf.certPem, joinPemBundle([ca2.certPem, ca1.certPem]), now)).toMatchObject({
      ok: true,
    });
    expect(await verifyLeaf(leaf.certPem, ca1.certPem, new Date(now.getTime() + 6 * DAY))).toMatchObject({
      ok: false,
      reason: 'leaf is outside its validity',
    });
    // A leaf from generation 1 does not verify against a different key that took the same name.
    const impostor = await createCA({ generation: 1, now, lifetimeMs: DAY });
    expect(await verifyLeaf(leaf.certPem, impostor.certPem, now)).toMatchObject({ ok: false });
  });
});

describe('bundles', () => {
  it('splits, joins and checks distribution by certificate, not by text', async () => {
    const a = await createCA({ generation: 1, now, lifetimeMs: DAY });
    const b = await createCA({ generation: 2, now, lifetimeMs: DAY });
    const both = joinPemBundle([a.certPem, b.certPem]);
    expect(splitPemBundle(both)).toEqual([a.certPem, b.certPem]);
    expect(
      isBundleDistributed(both, [both, joinPemBundle([b.certPem, a.certPem]).replace(/\n/g, '\r\n')]),
    ).toBe(true);
    expect(isBundleDistributed(both, [both, a.certPem])).toBe(false);
    expect(isBundleDistributed(a.certPem, [both])).toBe(true);
    expect(isBundleDistributed(both, [])).toBe(true);
  });
});
