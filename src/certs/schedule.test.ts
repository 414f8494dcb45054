import { describe, expect, it } from 'vitest';
import {
  inspectCertificate,
  serviceHosts,
  splitPemBundle,
  verifyLeaf,
  type ServingHosts,
} from './authority.js';
import {
  decideCertificateAction,
  DEFAULT_CERTIFICATE_SETTINGS,
  type CertificateAction,
  type CertificateSettings,
} from './schedule.js';
import {
  decodeSecret,
  parseServingMaterial,
  summarizeSecret,
  encodeSecret,
  SecretAnnotations,
  SecretKeys,
  type SecretLike,
} from './secret-format.js';
import { applyCertificateAction } from './transition.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const hosts = serviceHosts({ service: 'webhook', namespace: 'ops', extraHosts: ['127.0.0.1'] });

// CA 60 s, leaf 20 s. CA1: notBefore -6 s (backdated a tenth), notAfter 60 s, two thirds at 38 s.
// Leaf: notBefore -2 s, notAfter 20 s, two thirds at 12.67 s.
const settings: CertificateSettings = {
  ...DEFAULT_CERTIFICATE_SETTINGS,
  caLifetimeMs: 60_000,
  leafLifetimeMs: 20_000,
  propagationGraceMs: 1_000,
  maxCheckIntervalMs: 600_000,
};

interface Step {
  action: CertificateAction;
  secret: SecretLike;
}

/** One reconcile from nothing but the Secret's contents, as a freshly started leader would do it. */
async function step(
  secret: SecretLike | undefined,
  now: Date,
  opts: { distributed?: boolean; hosts?: ServingHosts; settings?: CertificateSettings } = {},
): Promise<Step> {
  const stored = decodeSecret(secret);
  const input = {
    now,
    stored,
    settings: opts.settings ?? settings,
    hosts: opts.hosts ?? hosts,
    bundleDistributed: opts.distributed ?? false,
  };
  const action = decideCertificateAction(input);
  const next = await applyCertificateAction(action, stored, input);
  if (!next) return { action, secret: secret! };
  const { data, annotations } = encodeSecret(next);
  return { action, secret: { metadata: { annotations }, data } };
}

function pem(secret: SecretLike, key: string): string {
  const v = secret.data?.[key];
  return v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8');
}
const subject = (secret: SecretLike, key: string): string => inspectCertificate(pem(secret, key)).subject;
const issuer = (secret: SecretLike): string => inspectCertificate(pem(secret, SecretKeys.leafCert)).issuer;
const bundleNames = (secret: SecretLike): string[] =>
  splitPemBundle(pem(secret, SecretKeys.bundle)).map((p) => inspectCertificate(p).subject);

/** Issue at 0 s, rotation started at 38 s (leaf renewed at 13 s and 26 s on the way). */
async function overlapAt38(): Promise<SecretLike> {
  let s = (await step(undefined, at(0))).secret;
  s = (await step(s, at(13))).secret;
  s = (await step(s, at(26))).secret;
  const r = await step(s, at(38));
  expect(r.action.kind).toBe('StartCARotation');
  return r.secret;
}

describe('decideCertificateAction', () => {
  it('issues when the Secret is missing or unreadable', async () => {
    const first = await step(undefined, at(0));
    expect(first.action).toMatchObject({ kind: 'Issue', reason: 'SecretMissing' });
    expect(subject(first.secret, SecretKeys.caCert)).toBe('CN=sidecar-operator-ca-1');
    expect(issuer(first.secret)).toBe('CN=sidecar-operator-ca-1');
    expect(bundleNames(first.secret)).toEqual(['CN=sidecar-operator-ca-1']);
    expect(first.secret.metadata?.annotations?.[SecretAnnotations.phase]).toBe('Stable');

    const garbled = {
      data: { ...first.secret.data, [SecretKeys.caCert]: Buffer.from('nonsense').toString('base64') },
    };
    expect((await step(garbled, at(1))).action).toMatchObject({ kind: 'Issue', reason: 'SecretUnreadable' });
    const noKey = { data: { ...first.secret.data, [SecretKeys.leafKey]: '' } };
    const r = await step(noKey, at(1));
    expect(r.action).toMatchObject({ kind: 'Issue', reason: 'SecretUnreadable' });
    expect(r.action.message).toContain('tls.key is missing');
    // A leaf where the CA should be is not a CA.
    const leafAsCA = {
      data: { ...first.secret.data, [SecretKeys.caCert]: first.secret.data![SecretKeys.leafCert]! },
    };
    expect((await step(leafAsCA, at(1))).action.message).toContain('not a CA');
  });

  it('does nothing while current and names the leaf renewal as the next check', async () => {
    const { secret } = await step(undefined, at(0));
    const r = await step(secret, at(5));
    expect(r.action.kind).toBe('None');
    expect(r.action.reason).toBe('UpToDate');
    // notBefore -2 s + 2/3 of 22 s = 12.667 s
    expect(r.action.kind === 'None' && r.action.nextCheckAt.getTime()).toBe(T0 + 12_666);
  });

  it('renews the leaf at two thirds of its life, from the same CA', async () => {
    const { secret } = await step(undefined, at(0));
    expect((await step(secret, at(12.6))).action.kind).toBe('None');
    const r = await step(secret, at(12.7));
    expect(r.action).toMatchObject({ kind: 'RenewLeaf', reason: 'LeafExpiring' });
    expect(pem(r.secret, SecretKeys.caKey)).toBe(pem(secret, SecretKeys.caKey));
    expect(pem(r.secret, SecretKeys.leafKey)).not.toBe(pem(secret, SecretKeys.leafKey));
    expect(inspectCertificate(pem(r.secret, SecretKeys.leafCert)).notAfter).toEqual(at(32));
    expect(
      await verifyLeaf(pem(r.secret, SecretKeys.leafCert), pem(r.secret, SecretKeys.bundle), at(13)),
    ).toMatchObject({ ok: true });
  });

  it('renews the leaf when the serving names change', async () => {
    const { secret } = await step(undefined, at(0));
    const moved = serviceHosts({
      service: 'webhook',
      namespace: 'ops',
      extraHosts: ['127.0.0.1', '10.0.0.7'],
    });
    const r = await step(secret, at(1), { hosts: moved });
    expect(r.action).toMatchObject({ kind: 'RenewLeaf', reason: 'HostsChanged' });
    expect(inspectCertificate(pem(r.secret, SecretKeys.leafCert)).ipAddresses).toEqual([
      '127.0.0.1',
      '10.0.0.7',
    ]);
    expect((await step(r.secret, at(2), { hosts: moved })).action.kind).toBe('None');
  });

  it('clamps a leaf to its CA when the leaf lifetime is longer', async () => {
    const long = { ...settings, leafLifetimeMs: 600_000 };
    const { secret } = await step(undefined, at(0), { settings: long });
    expect(inspectCertificate(pem(secret, SecretKeys.leafCert)).notAfter).toEqual(
      inspectCertificate(pem(secret, SecretKeys.caCert)).notAfter,
    );
    // Renewing from the same CA could not extend it, so the CA rotation is what comes next.
    const r = await step(secret, at(38), { settings: long });
    expect(r.action.kind).toBe('StartCARotation');
  });

  it('starts a CA rotation at two thirds of the CA life: new CA in the bundle, leaf still from the old', async () => {
    const s = await overlapAt38();
    expect(subject(s, SecretKeys.caCert)).toBe('CN=sidecar-operator-ca-1');
    expect(subject(s, SecretKeys.nextCACert)).toBe('CN=sidecar-operator-ca-2');
    expect(bundleNames(s)).toEqual(['CN=sidecar-operator-ca-1', 'CN=sidecar-operator-ca-2']);
    expect(issuer(s)).toBe('CN=sidecar-operator-ca-1');
    expect(s.metadata?.annotations?.[SecretAnnotations.phase]).toBe('Overlap');
    expect(s.metadata?.annotations?.[SecretAnnotations.rotationStartedAt]).toBe(at(38).toISOString());
    expect(summarizeSecret(s)).toEqual({
      phase: 'Overlap',
      caNotAfter: at(60),
      nextCANotAfter: at(98),
      leafNotAfter: at(46),
      bundle: ['CN=sidecar-operator-ca-1', 'CN=sidecar-operator-ca-2'],
    });
    const served = parseServingMaterial(s);
    expect(served.certPem).toBe(pem(s, SecretKeys.leafCert));
    expect(served.keyPem).toBe(pem(s, SecretKeys.leafKey));
    expect(served.bundlePem).toBe(pem(s, SecretKeys.bundle));
    expect(served.notAfter).toEqual(at(46));
  });

  it('waits for the bundle to be everywhere, then for the grace, then switches the leaf', async () => {
    const s = await overlapAt38();
    const waiting = await step(s, at(38.5), { distributed: false });
    expect(waiting.action).toMatchObject({ kind: 'None', reason: 'WaitingForDistribution' });
    // Next moment the clock alone could change things: the leaf renewal at 38.67 s.
    expect(waiting.action.kind === 'None' && waiting.action.nextCheckAt.getTime()).toBe(T0 + 38_666);
    expect((await step(s, at(38.5), { distributed: true })).action.kind).toBe('None');
    const sw = await step(s, at(39), { distributed: true });
    expect(sw.action).toMatchObject({ kind: 'SwitchLeaf', reason: 'BundleDistributed' });
    expect(issuer(sw.secret)).toBe('CN=sidecar-operator-ca-2');
    expect(subject(sw.secret, SecretKeys.caCert)).toBe('CN=sidecar-operator-ca-2');
    expect(subject(sw.secret, SecretKeys.previousCACert)).toBe('CN=sidecar-operator-ca-1');
    expect(bundleNames(sw.secret)).toEqual(['CN=sidecar-operator-ca-1', 'CN=sidecar-operator-ca-2']);
    expect(sw.secret.data?.[SecretKeys.nextCACert]).toBeUndefined();
    // The retired CA's key is destroyed: nothing can sign with it any more.
    expect(Object.values(sw.secret.data ?? {}).map((v) => Buffer.from(v, 'base64').toString())).not.toContain(
      pem(s, SecretKeys.caKey),
    );
    // The longest leaf CA1 signed (at 26 s) expires at 46 s.
    expect(sw.secret.metadata?.annotations?.[SecretAnnotations.pruneAfter]).toBe(at(46).toISOString());
    expect(sw.secret.metadata?.annotations?.[SecretAnnotations.phase]).toBe('Retiring');
  });

  it('keeps renewing the leaf from the old CA while waiting, but never past the old CA', async () => {
    const s = await overlapAt38();
    const r = await step(s, at(39));
    expect(r.action).toMatchObject({ kind: 'RenewLeaf', reason: 'LeafExpiring' });
    expect(issuer(r.secret)).toBe('CN=sidecar-operator-ca-1');
    expect(inspectCertificate(pem(r.secret, SecretKeys.leafCert)).notAfter).toEqual(at(59));
    const later = await step(r.secret, at(55));
    expect(later.action).toMatchObject({ kind: 'RenewLeaf' });
    expect(inspectCertificate(pem(later.secret, SecretKeys.leafCert)).notAfter).toEqual(at(60));
    // Clamped to the CA: a further renewal gains nothing, so the next check is the CA's expiry.
    const idle = await step(later.secret, at(58));
    expect(idle.action.kind).toBe('None');
    expect(idle.action.kind === 'None' && idle.action.nextCheckAt).toEqual(at(60));
  });

  it('switches anyway when the old CA expires before distribution is confirmed', async () => {
    const s = await overlapAt38();
    const r = await step(s, at(60));
    expect(r.action).toMatchObject({ kind: 'SwitchLeaf', reason: 'CAExpiredBeforeDistribution' });
    expect(issuer(r.secret)).toBe('CN=sidecar-operator-ca-2');
    expect(
      await verifyLeaf(pem(r.secret, SecretKeys.leafCert), pem(r.secret, SecretKeys.bundle), at(60)),
    ).toMatchObject({ ok: true });
  });

  it('prunes the old CA once every leaf it signed has expired', async () => {
    const s = await overlapAt38();
    const sw = (await step(s, at(39), { distributed: true })).secret;
    const before = await step(sw, at(45.9), { distributed: true });
    expect(before.action.kind).toBe('None');
    expect(before.action.kind === 'None' && before.action.nextCheckAt).toEqual(at(46));
    const p = await step(sw, at(46), { distributed: true });
    expect(p.action).toMatchObject({ kind: 'PruneOldCA', reason: 'OldLeavesExpired' });
    expect(bundleNames(p.secret)).toEqual(['CN=sidecar-operator-ca-2']);
    expect(p.secret.data?.[SecretKeys.previousCACert]).toBeUndefined();
    expect(pem(p.secret, SecretKeys.leafCert)).toBe(pem(sw, SecretKeys.leafCert));
    expect(p.secret.metadata?.annotations?.[SecretAnnotations.phase]).toBe('Stable');
  });

  it('without the prune record, keeps the retired CA until it expires itself', async () => {
    const s = await overlapAt38();
    const sw = (await step(s, at(39), { distributed: true })).secret;
    // Lose the prune record: the retired CA's own expiry (60 s) is then the safe bound.
    const stripped = { data: sw.data, metadata: { annotations: {} } };
    expect((await step(stripped, at(59), { distributed: true })).action.kind).not.toBe('PruneOldCA');
    expect((await step(stripped, at(60), { distributed: true })).action.kind).toBe('PruneOldCA');
  });

  it('continues a rotation after a restart from the Secret alone, with or without its annotations', async () => {
    const s = await overlapAt38();
    const decoded = decodeSecret(s);
    expect(decoded.kind).toBe('Ready');
    const reencoded = encodeSecret(decoded.kind === 'Ready' ? decoded.state : (undefined as never));
    expect(reencoded.data).toEqual(s.data);
    expect(reencoded.annotations).toEqual(s.metadata?.annotations);
    // Annotations lost: the new CA's notBefore (32 s) stands in for the start of the rotation.
    const bare = { data: s.data };
    expect((await step(bare, at(38.5), { distributed: true })).action).toMatchObject({ kind: 'SwitchLeaf' });
    expect((await step(bare, at(38.5), { distributed: false })).action).toMatchObject({ kind: 'None' });
  });

  it('re-signs a leaf that its CA did not sign, and repairs an edited bundle', async () => {
    const a = (await step(undefined, at(0))).secret;
    const b = (await step(undefined, at(0))).secret;
    const mixed = {
      data: {
        ...a.data,
        [SecretKeys.leafCert]: b.data![SecretKeys.leafCert]!,
        [SecretKeys.leafKey]: b.data![SecretKeys.leafKey]!,
      },
    };
    const r = await step(mixed, at(1));
    expect(r.action).toMatchObject({ kind: 'RenewLeaf', reason: 'LeafNotFromCA' });
    expect(
      await verifyLeaf(pem(r.secret, SecretKeys.leafCert), pem(a, SecretKeys.caCert), at(1)),
    ).toMatchObject({ ok: true });
    const edited = { data: { ...a.data, [SecretKeys.bundle]: b.data![SecretKeys.bundle]! } };
    const fix = await step(edited, at(1));
    expect(fix.action).toMatchObject({ kind: 'RepairBundle', reason: 'BundleEdited' });
    expect(pem(fix.secret, SecretKeys.bundle)).toBe(pem(a, SecretKeys.bundle));
  });

  it('re-issues with the next generation when the CA has expired outside a rotation', async () => {
    const { secret } = await step(undefined, at(0));
    const r = await step(secret, at(61));
    expect(r.action).toMatchObject({ kind: 'Issue', reason: 'CAExpired' });
    expect(subject(r.secret, SecretKeys.caCert)).toBe('CN=sidecar-operator-ca-2');
  });

  it('caps the next check at the maximum interval', async () => {
    const { secret } = await step(undefined, at(0), { settings: DEFAULT_CERTIFICATE_SETTINGS });
    const r = await step(secret, at(1), { settings: DEFAULT_CERTIFICATE_SETTINGS });
    expect(r.action.kind === 'None' && r.action.nextCheckAt).toEqual(at(3601));
  });
});

describe('parseServingMaterial', () => {
  it('falls back to ca.crt (as cert-manager writes it) and names what is missing', async () => {
    const { secret } = await step(undefined, at(0));
    const { [SecretKeys.bundle]: _bundle, ...certManagerLike } = secret.data!;
    expect(parseServingMaterial({ data: certManagerLike }).bundlePem).toBe(pem(secret, SecretKeys.caCert));
    expect(() => parseServingMaterial({ data: { ...secret.data, [SecretKeys.leafKey]: '' } })).toThrow(
      /tls.key/,
    );
    expect(() => parseServingMaterial({ data: {} })).toThrow(/tls.crt/);
    expect(summarizeSecret(undefined)).toBeUndefined();
  });
});

describe('rotation over time', () => {
  it('never serves a leaf the API server cannot verify, through several CA rotations', async () => {
    // Each second the leader reconciles from the Secret alone. Replicas lag: any leaf written in
    // the last 5 s may still be served. The controller copies the bundle into the webhook
    // configuration only every 3 s, and reports distribution truthfully.
    let secret: SecretLike | undefined;
    let webhookBundle = '';
    let served: string[] = [];
    const kinds: string[] = [];
    let failures = 0;
    for (let t = 0; t <= 150; t += 1) {
      const now = at(t);
      const distributed = secret !== undefined && pem(secret, SecretKeys.bundle) === webhookBundle;
      const r = await step(secret, now, { distributed });
      if (r.action.kind !== 'None') kinds.push(r.action.kind);
      else expect(r.action.nextCheckAt.getTime()).toBeGreaterThan(now.getTime());
      secret = r.secret;
      served = [...served.slice(-5), pem(secret, SecretKeys.leafCert)];
      if (t > 0)
        for (const leaf of served) if (!(await verifyLeaf(leaf, webhookBundle, now)).ok) failures += 1;
      if (t % 3 === 0) webhookBundle = pem(secret, SecretKeys.bundle);
    }
    expect(failures).toBe(0);
    expect(kinds.filter((k) => k === 'StartCARotation').length).toBeGreaterThanOrEqual(3);
    expect(kinds.filter((k) => k === 'PruneOldCA').length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k === 'RenewLeaf').length).toBeGreaterThanOrEqual(4);
    expect(kinds.filter((k) => k === 'Issue')).toEqual(['Issue']);
    // Rotations go strictly in order: start, switch, prune.
    const rotation = kinds.filter((k) => k !== 'RenewLeaf' && k !== 'Issue').join(' ');
    expect(rotation).toMatch(/^(StartCARotation SwitchLeaf PruneOldCA ?)+(StartCARotation( SwitchLeaf)?)?$/);
  }, 30_000); // key generation for every rotation: seconds of CPU on a busy machine
});
