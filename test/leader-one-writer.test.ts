import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { policyPath } from '../src/api/index.js';
import { createSelfSignedCA, issueServingCertificate } from '../src/certs/authority.js';
import { requestJson } from '../src/kube/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  createPolicy,
  deletePolicies,
  freePort,
  shortId,
  TEST_INIT_IMAGE,
} from './controller-support.js';
import { eventually, testNamespace, userKubeconfigYaml } from './support.js';

/**
 * "At no instant two replicas write": real `sidecar-operator run` processes, each with its own
 * client certificate (user), campaign for one Lease that the test deletes and edits by hand while
 * a policy keeps changing. Two records are compared: what each replica says (its log: became
 * leader, stopped leading) and what the API server says (a validating webhook the test registers
 * sees every write to the policy, its status, the injector ConfigMap and the governed namespace,
 * with the writer's user name).
 */

const MAIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 500;
const LEASE_NAME = 'sidecar-operator-leader';
const kc = admin();
const policies: string[] = [];
cleanupWebhooksAfterAll(kc, () => policies);

interface Write {
  t: number;
  user: string;
  what: string;
}

/** A validating webhook that allows everything and records who wrote what, when. */
async function writeRecorder(): Promise<{ writes: Write[]; port: number; caPem: string; server: Server }> {
  const now = new Date();
  const ca = await createSelfSignedCA({
    commonName: 'write-recorder',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 3_600_000),
  });
  const leaf = await issueServingCertificate({
    ca,
    hosts: { dnsNames: [], ipAddresses: ['127.0.0.1'] },
    now,
    lifetimeMs: 3_600_000,
  });
  const writes: Write[] = [];
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const t = Date.now();
      const review = JSON.parse(body) as {
        request: {
          uid: string;
          userInfo: { username: string };
          resource: { resource: string };
          subResource?: string;
          name: string;
          operation: string;
        };
      };
      const r = review.request;
      writes.push({
        t,
        user: r.userInfo.username,
        what: `${r.operation} ${r.resource.resource}${r.subResource ? `/${r.subResource}` : ''} ${r.name}`,
      });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: r.uid, allowed: true },
        }),
      );
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { writes, port, caPem: ca.certPem, server };
}

async function registerRecorder(
  name: string,
  rec: { port: number; caPem: string },
  scope: { shard: string; opNs: string; nsLabel: string },
): Promise<void> {
  const common = {
    clientConfig: {
      url: `https://127.0.0.1:${rec.port}/`,
      caBundle: Buffer.from(rec.caPem).toString('base64'),
    },
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Ignore',
    timeoutSeconds: 2,
  };
  const ops = ['CREATE', 'UPDATE', 'DELETE'];
  await requestJson(kc, {
    method: 'POST',
    path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          ...common,
          name: 'policies.record.test',
          rules: [
            {
              apiGroups: ['sidecar.dev'],
              apiVersions: ['*'],
              resources: ['sidecarpolicies', 'sidecarpolicies/status'],
              operations: ops,
            },
          ],
          objectSelector: { matchLabels: { 'test.sidecar.dev/shard': scope.shard } },
        },
        {
          ...common,
          name: 'configmaps.record.test',
          rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ops }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': scope.opNs } },
        },
        {
          ...common,
          name: 'namespaces.record.test',
          rules: [
            { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['UPDATE'] },
          ],
          objectSelector: { matchLabels: { 'test.sidecar.dev/leader': scope.nsLabel } },
        },
      ],
    },
  });
}

interface LogLine {
  t: number;
  msg: string;
  reason?: string;
  raw?: string;
}

interface Replica {
  identity: string;
  user: string;
  child: ChildProcess;
  log: LogLine[];
  exited: Promise<number>;
}

async function startReplica(o: {
  identity: string;
  user: string;
  opNs: string;
  shard: string;
}): Promise<Replica> {
  const kubeconfig = join(tmpdir(), `${o.user}.kubeconfig`);
  writeFileSync(kubeconfig, await userKubeconfigYaml(o.user, ['system:masters']), { mode: 0o600 });
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      o.opNs,
      '--webhook-url',
      `https://127.0.0.1:${port}`,
      '--webhook-host',
      '127.0.0.1',
      '--webhook-port',
      String(port),
      '--policy-selector',
      `test.sidecar.dev/shard=${o.shard}`,
      '--identity',
      o.identity,
      '--lease-duration',
      `${LEASE_MS}ms`,
      '--renew-deadline',
      `${RENEW_MS}ms`,
      '--retry-period',
      `${RETRY_MS}ms`,
      '--resync-period',
      '2s',
      '--init-image',
      TEST_INIT_IMAGE,
      '--log-level',
      process.env.LEADER_TEST_LOG_LEVEL ?? 'info',
      '--admission-events',
      'false',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: LogLine[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    try {
      const j = JSON.parse(l) as { time: number; msg: string; reason?: string };
      log.push({ t: j.time, msg: j.msg, ...(j.reason ? { reason: j.reason } : {}), raw: l });
    } catch {
      log.push({ t: Date.now(), msg: l });
    }
  });
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));
  return { identity: o.identity, user: o.user, child, log, exited };
}

/**
 * The intervals a replica acted as leader: from "became leader" to "stopped leading" (logged once
 * what it led has stopped: in-flight writes included), or to exit. A build that does not log
 * "stopped leading" is judged by its "leadership lost" line, logged before it stops (in its favour).
 */
function leadingIntervals(r: Replica, exitAt: number): [number, number][] {
  const out: [number, number][] = [];
  let from: number | undefined;
  let lost: number | undefined;
  for (const l of r.log) {
    if (l.msg === 'became leader') {
      if (from !== undefined && lost !== undefined) out.push([from, lost]);
      from = l.t;
      lost = undefined;
    } else if (l.msg.startsWith('leadership lost') && from !== undefined) lost ??= l.t;
    else if (l.msg === 'stopped leading' && from !== undefined) {
      out.push([from, l.t]);
      from = lost = undefined;
    }
  }
  if (from !== undefined) out.push([from, lost ?? exitAt]);
  return out;
}

const leaderNow = (rs: Replica[]): Replica | undefined =>
  rs.find((r) => {
    const last = r.log.filter((l) => l.msg === 'became leader' || l.msg === 'stopped leading').at(-1);
    return last?.msg === 'became leader';
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(replicas: number): Promise<void> {
  const id = shortId();
  const shard = `lead-${id}`;
  const opNs = await testNamespace('lead-op');
  const ns = await testNamespace('lead-gov', { 'test.sidecar.dev/leader': id });
  const rec = await writeRecorder();
  const recorderName = `lead-record-${id}`;
  await registerRecorder(recorderName, rec, { shard, opNs, nsLabel: id });
  const rs: Replica[] = [];
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${opNs}/leases/${LEASE_NAME}`;
  const policy = `lead-${id}`;
  policies.push(policy);
  let churning = true;
  let churn: Promise<void> | undefined;
  let failed = true;
  try {
    for (let i = 1; i <= replicas; i++)
      rs.push(await startReplica({ identity: `r${i}`, user: `lead-${id}-r${i}`, opNs, shard }));
    await eventually(() => leaderNow(rs), { what: 'a leader', timeoutMs: 120_000 });
    await createPolicy(kc, policy, shard, { selector: { namespaces: [ns] } });
    // A spec change every 300 ms: the leader writes the ConfigMap and the status each time.
    churn = (async () => {
      for (let n = 0; churning; n++) {
        await requestJson(kc, {
          method: 'PATCH',
          path: policyPath(policy),
          body: { spec: { proxy: { args: [`--concurrency=${(n % 8) + 1}`] } } },
          contentType: 'application/merge-patch+json',
        }).catch(() => undefined);
        await sleep(300);
      }
    })();
    await sleep(2000);

    const disrupt = async (what: string, act: () => Promise<unknown>) => {
      const t = Date.now();
      await act();
      // Whatever happens to the leadership happens within about one lease duration; then a leader
      // (an old or a new one) writes again.
      await sleep(LEASE_MS + RETRY_MS);
      await eventually(() => rec.writes.some((w) => w.t > t + LEASE_MS && byReplica(w)) || undefined, {
        what: `writes after: ${what}`,
        timeoutMs: 60_000,
      });
      const back = rs.flatMap((r) => r.log.filter((l) => l.msg === 'became leader' && l.t > t));
      console.log(`${what}: leader again after ${back.length ? `${back[0]!.t - t} ms` : '(no change)'}`);
      await sleep(1000);
    };
    const byReplica = (w: Write) => rs.some((r) => r.user === w.user);
    const holder = async () =>
      (
        await requestJson<{ spec: { holderIdentity?: string } }>(kc, { path: leasePath }).catch(
          () => undefined,
        )
      )?.spec.holderIdentity;
    const setHolder = (h: string) =>
      requestJson(kc, {
        method: 'PATCH',
        path: leasePath,
        body: { spec: { holderIdentity: h } },
        contentType: 'application/merge-patch+json',
      });

    await disrupt('Lease deleted', () => requestJson(kc, { method: 'DELETE', path: leasePath }));
    const current = await holder();
    const follower = rs.find((r) => r.identity !== current)!.identity;
    await disrupt(`Lease handed to the follower ${follower} by hand`, () => setHolder(follower));
    await disrupt('Lease handed to a stranger by hand', () => setHolder('someone-else'));
    await disrupt('Lease deleted again', () => requestJson(kc, { method: 'DELETE', path: leasePath }));
    await disrupt('Lease emptied by hand', () => setHolder(''));
    churning = false;
    await churn;
    await sleep(500);
    failed = false;
  } finally {
    churning = false;
    await churn;
    for (const r of rs) r.child.kill('SIGTERM');
    const exits = await Promise.all(rs.map((r) => r.exited));
    rec.server.close();
    await requestJson(kc, {
      method: 'DELETE',
      path: `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${recorderName}`,
    }).catch(() => undefined);
    await deletePolicies(kc, [policy]).catch(() => undefined);
    if (failed) for (const r of rs) console.log(r.identity, JSON.stringify(r.log.slice(-30)));
    else report(rs, exits, rec.writes, replicas);
  }
}

function report(rs: Replica[], exits: number[], writes: Write[], replicas: number): void {
  const intervals = rs.map((r, i) => ({ r, spans: leadingIntervals(r, exits[i]!) }));
  const ours = writes.filter((w) => rs.some((r) => r.user === w.user));
  const lines: string[] = [];
  for (const { r, spans } of intervals)
    lines.push(`${r.identity}: led ${spans.map(([a, b]) => `[${a}, ${b}] ${b - a} ms`).join(', ')}`);
  console.log(`${replicas} replicas\n${lines.join('\n')}\n${ours.length} writes by the replicas`);

  // 1. Never two leaders at once (by their own account).
  let overlapMs = 0;
  for (let i = 0; i < intervals.length; i++)
    for (let j = i + 1; j < intervals.length; j++)
      for (const [a0, a1] of intervals[i]!.spans)
        for (const [b0, b1] of intervals[j]!.spans)
          overlapMs = Math.max(overlapMs, Math.min(a1, b1) - Math.max(a0, b0));
  // 2. Every write the API server saw from a replica came while that replica led.
  const outside = ours.filter((w) => {
    const spans = intervals.find((x) => x.r.user === w.user)!.spans;
    return !spans.some(([a, b]) => w.t >= a && w.t <= b);
  });
  // 3. So no two replicas' writes interleave: between two writes of one replica, none of another's
  //    unless leadership changed hands in between (checked through 1 and 2); count the switches.
  let switches = 0;
  for (let i = 1; i < ours.length; i++) if (ours[i]!.user !== ours[i - 1]!.user) switches++;
  console.log(`longest overlap of two leaders: ${Math.max(0, overlapMs)} ms; writer switches: ${switches}`);
  for (const w of outside.slice(0, 1)) {
    const r = rs.find((x) => x.user === w.user)!;
    console.log(
      r.log
        .filter((l) => Math.abs(l.t - w.t) < 3000)
        .map((l) => l.raw ?? l.msg)
        .join('\n'),
    );
  }
  expect(overlapMs, 'two replicas leading at once (ms)').toBeLessThanOrEqual(0);
  expect(
    outside.map((w) => `${w.t} ${w.user} ${w.what}`),
    'writes by a replica that was not leading',
  ).toEqual([]);
  const stepDowns = rs.flatMap((r) => r.log.filter((l) => l.msg.startsWith('leadership lost')));
  expect(stepDowns.length).toBeGreaterThanOrEqual(5);
}

describe('one leader, always', () => {
  it(
    'two replicas: deleting and editing the Lease never leaves two writing',
    { timeout: 400_000 },
    async () => {
      await scenario(2);
    },
  );

  it('three replicas: the same', { timeout: 400_000 }, async () => {
    await scenario(3);
  });
});
