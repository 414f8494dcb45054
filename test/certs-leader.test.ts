import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DEFAULT_SECRET_NAME } from '../src/certs/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
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
  recordSecretHistory,
  secretEvents,
  servedFingerprint,
  sleep,
} from './certs-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const id = shortId();
const policy = `certs-${id}-lead`;
const SECRET = DEFAULT_SECRET_NAME;
let opNs: string;
let ns: string;
const operators: { handle: OperatorHandle; logs: Record<string, unknown>[] }[] = [];
let history: ReturnType<typeof recordSecretHistory>;

cleanupWebhooksAfterAll(kc, () => [policy]);

/** A logger keeping every line, to tell which replica wrote what. */
function capturingLogger(logs: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

beforeAll(async () => {
  opNs = await testNamespace('certs-lead-op');
  ns = await testNamespace('certs-lead');
  history = recordSecretHistory(kc, opNs, SECRET);
  await history.synced;
  for (const name of ['one', 'two']) {
    const logs: Record<string, unknown>[] = [];
    const handle = await startTestOperator(opNs, id, {
      identity: `${name}-${id}`,
      log: capturingLogger(logs),
      // The leaf renews every ~6 s: several changes to follow within the test.
      certificates: { caLifetimeMs: 600_000, leafLifetimeMs: 9_000 },
    });
    operators.push({ handle, logs });
  }
  await createPolicy(kc, policy, id, failClosedSpec(ns));
  await waitReady(kc, policy);
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await Promise.all(operators.map((o) => o.handle.stop()));
    await history?.stop();
  }
});

describe('two replicas, one certificate writer', () => {
  it('only the leader writes the Secret; the follower serves each new certificate within seconds', async () => {
    const leader = await eventually(() => operators.find((o) => o.handle.isLeader()), { what: 'a leader' });
    const follower = operators.find((o) => o !== leader)!;
    expect(follower.handle.isLeader()).toBe(false);

    // Both replicas' served certificates, sampled every 50 ms while the leaf renews.
    const samples: { at: number; who: string; fp: string }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const o of operators) {
          const fp = await servedFingerprint(o.handle.webhookPort).catch(() => 'unreachable');
          samples.push({ at: Date.now(), who: o.handle.identity, fp });
        }
        await sleep(50);
      }
    })();
    const from = Date.now();
    await eventually(() => (history.versions.filter((v) => v.at > from).length >= 3 ? true : undefined), {
      what: 'three new certificates',
      timeoutMs: 40_000,
      intervalMs: 200,
    });
    await sleep(3000);
    sampling = false;
    await sampler;

    const lagMs = (who: string, fp: string, since: number): number => {
      const seen = samples.find((s) => s.who === who && s.at >= since && s.fp === fp);
      return seen ? seen.at - since : Infinity;
    };
    const changes = history.versions.filter((v) => v.at > from && v.at < Date.now() - 3000);
    const lags = changes.map((v) => ({
      leader: lagMs(leader.handle.identity, v.leafFingerprint, v.at),
      follower: lagMs(follower.handle.identity, v.leafFingerprint, v.at),
    }));
    console.log(`served-certificate lag after a Secret change (ms): ${JSON.stringify(lags)}`);
    expect(changes.length).toBeGreaterThanOrEqual(2);
    for (const l of lags) {
      expect(l.follower).toBeLessThan(3000);
      expect(l.leader).toBeLessThan(3000);
    }

    const written = (o: (typeof operators)[number]) =>
      o.logs.filter(
        (l) => l.msg === 'certificates updated' || l.msg === 'certificate secret changed by another writer',
      );
    // Every version of the Secret is one of the leader's writes; the follower attempted none.
    expect(written(follower)).toEqual([]);
    expect(written(leader).filter((l) => l.outcome !== 'Conflict').length).toBeGreaterThanOrEqual(
      history.versions.length,
    );
    const events = await secretEvents(kc, opNs, SECRET);
    expect(events.length).toBeGreaterThanOrEqual(history.versions.length);
    expect(new Set(events.map((e) => e.reportingInstance))).toEqual(new Set([leader.handle.identity]));
    await createInjectedPod(kc, ns, podSpec('after'));
  }, 90_000);
});
