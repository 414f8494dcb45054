import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caBundlesOf } from '../src/render/webhook-configuration.js';
import { DEFAULT_SECRET_NAME, EXPIRY_METRIC, isBundleDistributed } from '../src/certs/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createInjectedPod,
  createPolicy,
  deletePolicies,
  podSpec,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import {
  failClosedSpec,
  handshake,
  handshakeProbe,
  podLoad,
  recordSecretHistory,
  secretEvents,
  sleep,
  type Attempt,
} from './certs-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const id = shortId();
const policy = `certs-${id}-rot`;
const SECRET = DEFAULT_SECRET_NAME;
let opNs: string;
let ns: string;
let operator: OperatorHandle;
let history: ReturnType<typeof recordSecretHistory>;

cleanupWebhooksAfterAll(kc, () => [policy]);

beforeAll(async () => {
  opNs = await testNamespace('certs-rot-op');
  ns = await testNamespace('certs-rot');
  history = recordSecretHistory(kc, opNs, SECRET);
  await history.synced;
  operator = await startTestOperator(opNs, id, {
    leaderElect: false,
    // Tens of seconds: a CA rotation starts at ~23 s and completes within the CA's 40 s.
    certificates: { caLifetimeMs: 40_000, leafLifetimeMs: 12_000, propagationGraceMs: 2_000 },
  });
  await createPolicy(kc, policy, id, failClosedSpec(ns));
  await waitReady(kc, policy);
  await createInjectedPod(kc, ns, podSpec('first'));
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await operator?.stop();
    await history?.stop();
  }
});

const caChanges = (): string[] => {
  const seen: string[] = [];
  for (const v of history.versions) if (v.ca && v.ca !== seen.at(-1)) seen.push(v.ca);
  return seen;
};

/** Rotation steps as the Secret went through them: phase transitions and leaf changes. */
function steps() {
  const vs = history.versions;
  let leafChanges = 0;
  let sameIssuerRenewals = 0;
  const phases: string[] = [];
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i]!;
    if (v.phase && v.phase !== phases.at(-1)) phases.push(v.phase);
    const prev = vs[i - 1];
    if (prev && prev.leafSerial !== v.leafSerial) {
      leafChanges++;
      if (prev.leafIssuer === v.leafIssuer) sameIssuerRenewals++;
    }
  }
  return { phases: phases.join(' → '), leafChanges, sameIssuerRenewals };
}

function summarize(attempts: Attempt[]) {
  const failed = attempts.filter((a) => !a.ok);
  return {
    attempts: attempts.length,
    created: attempts.length - failed.length,
    failed: failed.length,
    uninjected: attempts.filter((a) => a.ok && !a.injected).length,
    firstErrors: [...new Set(failed.map((a) => a.error))].slice(0, 3),
  };
}

async function expirySeconds(kind: string): Promise<number | undefined> {
  const m = await operator.registry.getSingleMetric(EXPIRY_METRIC)?.get();
  return m?.values.find((v) => v.labels.kind === kind)?.value;
}

describe('certificates rotate under load with no failed admission', () => {
  it('renews the leaf several times and completes a CA rotation while pods are created, all injected', async () => {
    const firstCA = caChanges()[0];
    expect(firstCA).toBeDefined();
    const started = Date.now();
    const load = podLoad(kc, ns, 3, 'rot');
    const probe = handshakeProbe(kc, policy, operator.webhookPort, 50);
    // Done when the first CA was replaced and then pruned from the bundle (start → switch → prune).
    await eventually(
      () => {
        const v = history.versions.at(-1);
        const rotated = caChanges().length >= 2 && v?.phase === 'Stable' && !v.bundle.includes(firstCA!);
        return rotated && steps().sameIssuerRenewals >= 3 ? true : undefined;
      },
      { what: 'a full CA rotation and three leaf renewals', timeoutMs: 90_000, intervalMs: 250 },
    ).finally(() => Promise.all([load.stop(), probe.stop()]));
    const attempts = await load.stop();
    const handshakes = await probe.stop();
    const badHandshakes = handshakes.filter((h) => !h.ok);
    const figures = {
      seconds: Math.round((Date.now() - started) / 1000),
      ...summarize(attempts),
      ...steps(),
      freshHandshakes: handshakes.length,
      failedHandshakes: badHandshakes.length,
    };
    console.log(`certificate rotation under load: ${JSON.stringify(figures)}`);

    expect(figures.failed, JSON.stringify(figures.firstErrors)).toBe(0);
    expect(badHandshakes, JSON.stringify(badHandshakes.slice(0, 3))).toEqual([]);
    expect(handshakes.length).toBeGreaterThan(100);
    expect(figures.uninjected).toBe(0);
    expect(figures.created).toBeGreaterThanOrEqual(200);
    expect(figures.phases).toMatch(/Stable → Overlap → Retiring → Stable/);

    const reasons = (await secretEvents(kc, opNs, SECRET)).map((e) => e.reason);
    for (const r of ['Issued', 'CARotationStarted', 'LeafSwitched', 'OldCAPruned', 'LeafRenewed'])
      expect(reasons, r).toContain(r);
    expect(reasons.filter((r) => r === 'LeafRenewed').length).toBeGreaterThanOrEqual(3);

    const mwc = await admission.readMutatingWebhookConfiguration({ name: policy });
    const secret = await core.readNamespacedSecret({ name: SECRET, namespace: opNs });
    const bundle = Buffer.from(secret.data?.['ca-bundle.crt'] ?? '', 'base64').toString();
    await eventually(
      async () =>
        isBundleDistributed(
          bundle,
          caBundlesOf(await admission.readMutatingWebhookConfiguration({ name: policy })),
        )
          ? true
          : undefined,
      { what: 'the current bundle in the webhook configuration' },
    );
    expect(mwc.webhooks?.[0]?.failurePolicy).toBe('Fail');

    const leaf = await expirySeconds('leaf');
    const ca = await expirySeconds('ca');
    expect(leaf).toBeGreaterThan(0);
    expect(leaf).toBeLessThanOrEqual(12);
    expect(ca).toBeGreaterThan(0);
    expect(ca).toBeLessThanOrEqual(40);
    const ready = condition(await waitReady(kc, policy), 'CertificateReady');
    expect(ready).toMatchObject({ status: 'True', reason: 'CertificateValid' });
    expect(ready?.message).toMatch(/^expires \d{4}-\d\d-\d\dT/);
  }, 180_000);

  it('re-issues a deleted Secret, the bundle follows and admissions recover', async () => {
    const before = history.versions.at(-1)!;
    const load = podLoad(kc, ns, 2, 'del');
    const probe = handshakeProbe(kc, policy, operator.webhookPort, 10);
    const oldBundle = caBundlesOf(await admission.readMutatingWebhookConfiguration({ name: policy }))[0]!;
    await sleep(1000);
    const deletedAt = Date.now();
    await core.deleteNamespacedSecret({ name: SECRET, namespace: opNs });
    const reissued = await eventually(
      () => history.versions.find((v) => v.at > deletedAt && v.leafSerial !== before.leafSerial),
      { what: 'a re-issued Secret', timeoutMs: 20_000 },
    );
    const bundle = await eventually(
      async () => {
        const s = await core.readNamespacedSecret({ name: SECRET, namespace: opNs });
        const b = Buffer.from(s.data?.['ca-bundle.crt'] ?? '', 'base64').toString();
        const mwc = await admission.readMutatingWebhookConfiguration({ name: policy });
        return isBundleDistributed(b, caBundlesOf(mwc)) ? b : undefined;
      },
      { what: 'the new bundle in the webhook configuration', timeoutMs: 30_000 },
    );
    expect(bundle).not.toBe('');
    // Keep creating until a few seconds of successes after the bundle landed.
    await eventually(
      () => {
        const last = load.attempts.slice(-20);
        return last.length === 20 && last.every((a) => a.ok) && Date.now() - deletedAt > 5000
          ? true
          : undefined;
      },
      { what: 'creations succeeding again', timeoutMs: 60_000 },
    ).finally(() => Promise.all([load.stop(), probe.stop()]));
    const attempts = await load.stop();
    const handshakes = (await probe.stop()).filter((h) => h.at >= deletedAt);
    const badHandshakes = handshakes.filter((h) => !h.ok);
    const handshakeRecovery = handshakes.find((h) => h.ok && h.at > (badHandshakes.at(-1)?.at ?? Infinity));

    const after = attempts.filter((a) => a.start >= deletedAt);
    const failed = after.filter((a) => !a.ok);
    const lastFailure = failed.at(-1);
    const recovery = lastFailure
      ? after.find((a) => a.ok && a.start > lastFailure.start)
      : after.find((a) => a.ok);
    const figures = {
      reissuedAfterMs: reissued.at - deletedAt,
      failedCreations: failed.length,
      firstFailureAfterMs: failed[0] ? failed[0].end - deletedAt : null,
      outageMs: failed[0] && recovery ? recovery.end - failed[0].end : 0,
      recoveredAfterMs: recovery ? recovery.end - deletedAt : null,
      attemptsAfterDelete: after.length,
      uninjected: attempts.filter((a) => a.ok && !a.injected).length,
      errors: [...new Set(failed.map((a) => a.error))].slice(0, 2),
      // A fresh connection (no reuse) fails from the new leaf being served until the bundle lands.
      failedFreshHandshakes: badHandshakes.length,
      freshHandshakeGapMs:
        badHandshakes[0] && handshakeRecovery ? handshakeRecovery.at - badHandshakes[0].at : 0,
    };
    console.log(`certificate Secret deleted: ${JSON.stringify(figures)}`);

    expect(reissued.ca).toBeDefined();
    expect(reissued.bundle).toHaveLength(1);
    expect(figures.uninjected).toBe(0);
    expect(recovery).toBeDefined();
    expect(figures.recoveredAfterMs).toBeLessThan(30_000);
    expect(figures.freshHandshakeGapMs).toBeLessThan(30_000);
    expect(handshakes.at(-1)?.ok).toBe(true);
    // The probe can fail: the new certificate no longer verifies against the old bundle.
    await expect(handshake(operator.webhookPort, oldBundle)).rejects.toThrow();
    const reasons = (await secretEvents(kc, opNs, SECRET)).map((e) => e.reason);
    expect(reasons.filter((r) => r === 'Issued').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
