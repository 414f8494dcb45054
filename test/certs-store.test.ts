import { CoreV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectCertificate, serviceHosts, splitPemBundle, verifyLeaf } from '../src/certs/authority.js';
import { DEFAULT_CERTIFICATE_SETTINGS, type CertificateSettings } from '../src/certs/schedule.js';
import { decodeSecret, SecretAnnotations, SecretKeys } from '../src/certs/secret-format.js';
import {
  readCertificateSecret,
  reconcileCertificates,
  writeCertificateSecret,
  type CertificateSecretRef,
} from '../src/certs/store.js';
import { applyCertificateAction } from '../src/certs/transition.js';
import { adminKubeConfig, testNamespace } from './support.js';

const settings: CertificateSettings = {
  ...DEFAULT_CERTIFICATE_SETTINGS,
  caLifetimeMs: 60_000,
  leafLifetimeMs: 20_000,
  propagationGraceMs: 1_000,
};
const hosts = serviceHosts({ service: 'sidecar-operator', namespace: 'ops', extraHosts: ['127.0.0.1'] });
// The schedule runs on an injected clock; the API server does not look at certificate dates.
const T0 = Math.floor(Date.now() / 1000) * 1000;
const at = (s: number): Date => new Date(T0 + s * 1000);

let core: CoreV1Api;
let namespace: string;

beforeAll(async () => {
  core = adminKubeConfig().makeApiClient(CoreV1Api);
  namespace = await testNamespace('certs');
});

function ref(name: string): CertificateSecretRef {
  return { core, namespace, name };
}

function field(secret: { data?: Record<string, string> } | undefined, key: string): string {
  const v = secret?.data?.[key];
  return v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8');
}

describe('certificate Secret store', () => {
  it('creates the Secret, then leaves it alone until the leaf is due, then renews it', async () => {
    const r = ref('certs-create');
    const first = await reconcileCertificates({
      ...r,
      now: at(0),
      settings,
      hosts,
      bundleDistributed: false,
    });
    expect(first.outcome).toBe('Created');
    expect(first.action).toMatchObject({ kind: 'Issue', reason: 'SecretMissing' });
    const stored = await readCertificateSecret(r);
    expect(stored?.type).toBe('kubernetes.io/tls');
    expect(stored?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('sidecar-operator');
    expect(stored?.metadata?.annotations?.[SecretAnnotations.phase]).toBe('Stable');
    expect(first.material?.certPem).toBe(field(stored, SecretKeys.leafCert));
    expect(await verifyLeaf(first.material!.certPem, first.material!.bundlePem, at(1))).toMatchObject({
      ok: true,
    });
    expect(first.nextCheckAt.getTime()).toBeGreaterThan(at(12).getTime());

    const idle = await reconcileCertificates({ ...r, now: at(5), settings, hosts, bundleDistributed: true });
    expect(idle.outcome).toBe('Unchanged');
    expect((await readCertificateSecret(r))?.metadata?.resourceVersion).toBe(
      stored?.metadata?.resourceVersion,
    );

    const renewed = await reconcileCertificates({
      ...r,
      now: at(13),
      settings,
      hosts,
      bundleDistributed: true,
    });
    expect(renewed).toMatchObject({
      outcome: 'Updated',
      action: { kind: 'RenewLeaf', reason: 'LeafExpiring' },
    });
    const after = await readCertificateSecret(r);
    expect(after?.metadata?.resourceVersion).not.toBe(stored?.metadata?.resourceVersion);
    expect(field(after, SecretKeys.caCert)).toBe(field(stored, SecretKeys.caCert));
    expect(field(after, SecretKeys.leafKey)).not.toBe(field(stored, SecretKeys.leafKey));
    expect(inspectCertificate(field(after, SecretKeys.leafCert)).notAfter.getTime()).toBeGreaterThan(
      inspectCertificate(field(stored, SecretKeys.leafCert)).notAfter.getTime(),
    );
  });

  it('keeps labels, annotations and data keys that others added', async () => {
    const r = ref('certs-foreign');
    await reconcileCertificates({ ...r, now: at(0), settings, hosts, bundleDistributed: false });
    const s = (await readCertificateSecret(r))!;
    await core.replaceNamespacedSecret({
      name: r.name,
      namespace,
      body: {
        ...s,
        metadata: {
          ...s.metadata,
          labels: { ...s.metadata?.labels, team: 'mesh' },
          annotations: { ...s.metadata?.annotations, note: 'keep' },
        },
        data: { ...s.data, extra: Buffer.from('x').toString('base64') },
      },
    });
    const moved = serviceHosts({ service: 'sidecar-operator', namespace: 'ops', extraHosts: ['127.0.0.2'] });
    const r2 = await reconcileCertificates({
      ...r,
      now: at(1),
      settings,
      hosts: moved,
      bundleDistributed: true,
    });
    expect(r2).toMatchObject({ outcome: 'Updated', action: { kind: 'RenewLeaf', reason: 'HostsChanged' } });
    const after = (await readCertificateSecret(r))!;
    expect(after.metadata?.labels?.team).toBe('mesh');
    expect(after.metadata?.annotations?.note).toBe('keep');
    expect(field(after, 'extra')).toBe('x');
    expect(inspectCertificate(field(after, SecretKeys.leafCert)).ipAddresses).toEqual(['127.0.0.2']);
  });

  it('lets exactly one of two writers with the same resourceVersion win', async () => {
    const r = ref('certs-race');
    await reconcileCertificates({ ...r, now: at(0), settings, hosts, bundleDistributed: false });
    const base = (await readCertificateSecret(r))!;
    const decoded = decodeSecret(base);
    const renew = { kind: 'RenewLeaf', reason: 'LeafExpiring', message: 'test' } as const;
    const ctx = { now: at(13), settings, hosts };
    const [a, b] = await Promise.all([
      applyCertificateAction(renew, decoded, ctx),
      applyCertificateAction(renew, decoded, ctx),
    ]);
    const results = await Promise.all([
      writeCertificateSecret(r, a!, base),
      writeCertificateSecret(r, b!, base),
    ]);
    expect(results.map((x) => x.outcome).sort()).toEqual(['Conflict', 'Updated']);
    const winner = results[0].outcome === 'Updated' ? a! : b!;
    const stored = await readCertificateSecret(r);
    expect(field(stored, SecretKeys.leafCert)).toBe(winner.leaf.certPem);
    // The loser is handed the winner's Secret, not its own.
    const loser = results.find((x) => x.outcome === 'Conflict')!;
    expect(field(loser.secret, SecretKeys.leafCert)).toBe(winner.leaf.certPem);

    // Two creators of a missing Secret: one creates, the other conflicts and re-reads.
    const fresh = ref('certs-race-create');
    const c = decodeSecret(undefined);
    const issue = { kind: 'Issue', reason: 'SecretMissing', message: 'test' } as const;
    const [x, y] = await Promise.all([
      applyCertificateAction(issue, c, ctx),
      applyCertificateAction(issue, c, ctx),
    ]);
    const created = await Promise.all([
      writeCertificateSecret(fresh, x!, undefined),
      writeCertificateSecret(fresh, y!, undefined),
    ]);
    expect(created.map((o) => o.outcome).sort()).toEqual(['Conflict', 'Created']);
    const kept = created[0].outcome === 'Created' ? x! : y!;
    expect(field(await readCertificateSecret(fresh), SecretKeys.caCert)).toBe(kept.ca.certPem);
    expect(field(created.find((o) => o.outcome === 'Conflict')!.secret, SecretKeys.caCert)).toBe(
      kept.ca.certPem,
    );
  });

  it('reports a conflict when the Secret changes between read and write', async () => {
    const r = ref('certs-stale');
    await reconcileCertificates({ ...r, now: at(0), settings, hosts, bundleDistributed: false });
    const stale = (await readCertificateSecret(r))!;
    await reconcileCertificates({ ...r, now: at(13), settings, hosts, bundleDistributed: true });
    const current = await readCertificateSecret(r);
    const decoded = decodeSecret(stale);
    const next = await applyCertificateAction(
      { kind: 'RepairBundle', reason: 'BundleEdited', message: '' },
      decoded,
      {
        now: at(14),
        settings,
        hosts,
      },
    );
    const w = await writeCertificateSecret(r, next!, stale);
    expect(w.outcome).toBe('Conflict');
    expect((await readCertificateSecret(r))?.metadata?.resourceVersion).toBe(
      current?.metadata?.resourceVersion,
    );
  });

  it('re-issues when the Secret is deleted', async () => {
    const r = ref('certs-delete');
    const first = await reconcileCertificates({
      ...r,
      now: at(0),
      settings,
      hosts,
      bundleDistributed: false,
    });
    await core.deleteNamespacedSecret({ name: r.name, namespace });
    expect(await readCertificateSecret(r)).toBeUndefined();
    const again = await reconcileCertificates({
      ...r,
      now: at(1),
      settings,
      hosts,
      bundleDistributed: false,
    });
    expect(again).toMatchObject({ outcome: 'Created', action: { kind: 'Issue', reason: 'SecretMissing' } });
    expect(again.material?.bundlePem).not.toBe(first.material?.bundlePem);
    expect(await verifyLeaf(again.material!.certPem, again.material!.bundlePem, at(2))).toMatchObject({
      ok: true,
    });
    expect(await verifyLeaf(again.material!.certPem, first.material!.bundlePem, at(2))).toMatchObject({
      ok: false,
    });
  });

  it('carries a CA rotation through the API server, one write per step', async () => {
    const r = ref('certs-rotate');
    const run = (s: number, bundleDistributed: boolean) =>
      reconcileCertificates({ ...r, now: at(s), settings, hosts, bundleDistributed });
    await run(0, false);
    await run(13, true);
    await run(26, true);
    const start = await run(38, true);
    expect(start).toMatchObject({ outcome: 'Updated', action: { kind: 'StartCARotation' } });
    expect(splitPemBundle(start.material!.bundlePem)).toHaveLength(2);
    // A restarted leader reading the Secret waits for distribution, then switches.
    expect((await run(38.5, true)).outcome).toBe('Unchanged');
    const sw = await run(39.5, true);
    expect(sw).toMatchObject({ outcome: 'Updated', action: { kind: 'SwitchLeaf' } });
    expect(inspectCertificate(sw.material!.certPem).issuer).toBe('CN=sidecar-operator-ca-2');
    expect(sw.nextCheckAt).toEqual(at(46));
    const prune = await run(46, true);
    expect(prune).toMatchObject({ outcome: 'Updated', action: { kind: 'PruneOldCA' } });
    expect(splitPemBundle(prune.material!.bundlePem).map((p) => inspectCertificate(p).subject)).toEqual([
      'CN=sidecar-operator-ca-2',
    ]);
    const stored = await readCertificateSecret(r);
    expect(Object.keys(stored?.data ?? {}).sort()).toEqual([
      'ca-bundle.crt',
      'ca.crt',
      'ca.key',
      'tls.crt',
      'tls.key',
    ]);
  });
});
