// Run by bench/soak/run.sh on the project's Node against the built dist/: one replica of the
// operator as shipped (the bundle, the chart's runtime settings) confined to a cgroup v1 memory
// cgroup of LIMIT bytes, under DURATION s of mixed admission traffic at about RATE reviews/s:
// valid reviews (the 10-container pod, sometimes the 64 KB pod), reviews mutated by a seeded fuzzer
// (types swapped, keys deleted or duplicated, huge strings, deep nesting, control characters and
// lone surrogates, truncated JSON, wrong apiVersion/kind, giant arrays), the hostile shapes of
// bench/lib/hostile.js, and a trickle of abusive connections (TLS connections that never send a
// byte, bodies sent a few bytes a second). Every 5 s: the replica's VmRSS/VmHWM and the cgroup's
// usage, peak, failcnt and OOM kills. Fails on any 5xx, an OOM kill or the replica exiting.
// Env: DURATION (1800), RATE (60), LIMIT (268435456), SEED (1), BENCH_WRITE=false (print only; else
// the "Soak" section of docs/benchmarks.md).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { Agent, request } from 'node:https';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { connect } from 'node:tls';
import { policyPath } from '../../dist/api/index.js';
import { ControlPlane } from '../../dist/dev/envtest/index.js';
import { loadKubeConfig, requestJson } from '../../dist/kube/index.js';
import { MemoryCgroup, MiB } from '../lib/cgroup.js';
import { hostileBody, hostileShapes } from '../lib/hostile.js';
import { bundleCommand, metrics, OP_NS, shippedEnvironment, startOperator } from '../lib/operator.js';
import { median, memory, sleep, until } from '../lib/process.js';
import { bigPod, review, tenContainerPod } from '../lib/reviews.js';
import { fuzzBody, mutationCounts, pick, rand, seed } from './fuzz.js';

seed(Number(process.env.SEED ?? 1));

const root = join(import.meta.dirname, '..', '..');
const DURATION = Number(process.env.DURATION ?? 1800);
const RATE = Number(process.env.RATE ?? 60);
const LIMIT = Number(process.env.LIMIT ?? 256 * 1024 * 1024);
const SEED = Number(process.env.SEED ?? 1);
/** Requests outstanding at once: the server's in-flight bound (16) is meant to be reached sometimes. */
const SOCKETS = 20;
const NS = 'soak-apps';
const POLICY = 'soak';
const log = (msg) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const inNs = (pod) => ({ ...pod, metadata: { ...pod.metadata, namespace: NS } });
// Built once: the same text each time, and the generator's CPU is better left to the replica.
const VALID = [review(inNs(tenContainerPod())), review(inNs(bigPod()))];
const validBody = () => VALID[rand() < 0.1 ? 1 : 0];
const validBytes = VALID.map((t) => Buffer.from(t));
const validBuffer = () => validBytes[rand() < 0.1 ? 1 : 0];

// ---- hostile shapes (bench/lib/hostile.js) ----
const shapes = hostileShapes('0');
const shapeNames = Object.keys(shapes);
const hostileCounts = Object.fromEntries(shapeNames.map((n) => [n, 0]));
const hostileCache = new Map();
function hostile() {
  const name = pick(shapeNames);
  const n = pick([10_000, 100_000, 1_000_000]);
  hostileCounts[name]++;
  const key = `${name} ${n}`;
  if (!hostileCache.has(key)) hostileCache.set(key, Buffer.from(hostileBody(shapes, name, n, review, NS)));
  return hostileCache.get(key);
}

// ---- traffic ----
const counts = {};
const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);
const fiveXX = [];
let outstanding = 0;
let skipped = 0;
let sent = 0;
let mutated = 0;

function classify(status, body, kind) {
  if (status === 200) return body.includes('"allowed":true') ? '200 allowed' : '200 denied';
  if ([400, 413, 429].includes(status)) return String(status);
  if (status >= 500) {
    if (fiveXX.length < 20) fiveXX.push({ status, kind, body: body.slice(0, 300) });
    return '5xx';
  }
  return `other ${status}`;
}

function send(agent, url, kind, body) {
  outstanding++;
  sent++;
  count(`sent ${kind}`);
  return new Promise((resolve) => {
    const done = (cls) => {
      outstanding--;
      count(cls);
      count(`${kind}: ${cls}`);
      resolve();
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
        timeout: 30_000,
      },
      (res) => {
        const chunks = [];
        let n = 0;
        res.on('data', (c) => n < 4096 && (chunks.push(c), (n += c.length)));
        res.on('end', () => done(classify(res.statusCode, Buffer.concat(chunks).toString(), kind)));
        res.on('error', (e) => done(`connection error (${e.code ?? e.message})`));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => done(`connection error (${e.code ?? e.message})`));
    req.end(body);
  });
}

/** A TLS connection that never sends a request: the server should close it (silent timeout). */
function silentConnection(port) {
  const opened = performance.now();
  let gaveUp = false;
  const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  s.on('error', () => undefined);
  // Read (nothing will come) so that the server's close is seen.
  s.resume();
  s.on('close', () => {
    if (gaveUp) return;
    count('abusive: silent TLS closed by the server');
    silentHeld.push((performance.now() - opened) / 1000);
  });
  setTimeout(() => {
    if (s.destroyed) return;
    gaveUp = true;
    count('abusive: silent TLS still open after 60 s');
    s.destroy();
  }, 60_000).unref();
}
const silentHeld = [];

/** A request whose body comes a few bytes a second: the server should end it (request timeout). */
function slowBody(port) {
  const body = validBytes[0];
  const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
    s.write(
      `POST /inject/${POLICY} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    let at = 0;
    const t = setInterval(() => {
      if (s.destroyed || at >= body.length) return clearInterval(t);
      s.write(body.subarray(at, at + 8));
      at += 8;
    }, 1000);
  });
  let answer = '';
  s.on('data', (d) => (answer += d));
  s.on('error', () => undefined);
  s.on('close', () =>
    count(`abusive: slow body ended (${answer.split(' ')[1] ?? 'closed without an answer'})`),
  );
}

async function traffic(port, seconds, onTick) {
  const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS, maxFreeSockets: SOCKETS });
  const url = `https://127.0.0.1:${port}/inject/${POLICY}`;
  const start = performance.now();
  let due = 0;
  let lastAbuse = 0;
  while (performance.now() - start < seconds * 1000) {
    const elapsed = (performance.now() - start) / 1000;
    while (due < elapsed * RATE) {
      due++;
      if (outstanding >= SOCKETS) {
        skipped++;
        continue;
      }
      const r = rand();
      if (r < 0.5) void send(agent, url, 'valid', validBuffer());
      else if (r < 0.9) {
        mutated++;
        void send(agent, url, 'fuzzed', fuzzBody(validBody()));
      } else void send(agent, url, 'hostile', hostile());
    }
    if (elapsed - lastAbuse >= 5) {
      lastAbuse = elapsed;
      silentConnection(port);
      slowBody(port);
    }
    await onTick(elapsed);
    await sleep(20);
  }
  for (let i = 0; i < 1500 && outstanding > 0; i++) await sleep(20);
  agent.destroy();
}

// ---- the run ----
const ready = (p) =>
  p.status?.observedGeneration === p.metadata?.generation &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

const shippedEnv = shippedEnvironment(root);
const tmp = mkdtempSync(join(tmpdir(), 'bench-soak-'));
const [node, main] = bundleCommand(root, join(tmp, 'bundle'));
const cp = new ControlPlane({ controllerManager: false, crds: [join(root, 'crds')] });
let op;
const samples = [];
let failure;
let finalCgroup;
let cg;
/** Why the replica stopped before the tear-down (an exit, an OOM kill), if it did. */
let replicaExit;
let logLines = 0;
let errorLines = [];
try {
  cg = new MemoryCgroup(`sidecar-soak-${process.pid}`, LIMIT);
  const info = await cp.start();
  const kc = loadKubeConfig({ kubeconfigYaml: info.adminKubeconfig });
  const post = (path, body) => requestJson(kc, { method: 'POST', path, body });
  await post('/api/v1/namespaces', { metadata: { name: OP_NS } });
  await post('/api/v1/namespaces', { metadata: { name: NS, labels: { 'soak-group': 'a' } } });
  await post(policyPath(), {
    apiVersion: 'sidecar.dev/v1alpha1',
    kind: 'SidecarPolicy',
    metadata: { name: POLICY },
    spec: {
      selector: { namespaceSelector: { matchLabels: { 'soak-group': 'a' } } },
      injection: { failurePolicy: 'Ignore' },
    },
  });
  const command = cg.wrap([node, main]);
  op = await startOperator(command, info.adminKubeconfigPath, 'soak-a', { env: shippedEnv });
  await until(
    'the replica leading and reconciling the policy',
    async () => {
      const m = await metrics(op.metricsPort);
      return m && m.leader === 1 && m.reconciles >= 1;
    },
    300_000,
    op.gone,
  );
  await until(
    'the policy Ready',
    async () => ready(await requestJson(kc, { path: `${policyPath()}/${POLICY}` })),
    120_000,
    op.gone,
  );
  if (!cg.has(op.pid)) throw new Error(`the replica (${op.pid}) is not in ${cg.path}`);
  log(
    `replica ${op.pid} in ${cg.path} (limit ${LIMIT / MiB} MiB), env ${JSON.stringify(shippedEnv)}; ${DURATION} s at ${RATE}/s`,
  );

  let nextSample = 0;
  await traffic(op.webhookPort, DURATION, async (t) => {
    // Keep only the operator's last lines in memory, counting the rest.
    if (op.lines.length > 200) {
      const dropped = op.lines.splice(0, op.lines.length - 200);
      logLines += dropped.length;
      errorLines.push(
        ...dropped.filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l)).slice(0, 5),
      );
      errorLines = errorLines.slice(-20);
    }
    if (t < nextSample) return;
    nextSample += 5;
    const gone = op.gone();
    const now = cg.sample();
    const mem = gone ? { rss: 0, hwm: 0 } : memory(op.pid);
    samples.push({ t, ...mem, ...now, alive: !gone });
    if (samples.length % 12 === 1)
      log(
        `t=${Math.round(t)} s sent ${sent} rss ${(mem.rss / 1024).toFixed(0)} MiB hwm ${(mem.hwm / 1024).toFixed(0)} cg ${(now.usage / MiB).toFixed(0)}/${(now.maxUsage / MiB).toFixed(0)} MiB failcnt ${now.failcnt} oom ${now.oomKill} ${JSON.stringify(counts).slice(0, 400)}`,
      );
    if (gone || now.oomKill > 0) {
      failure = replicaExit = gone ?? `OOM kill in the cgroup (oom_kill ${now.oomKill})`;
      throw new Error(failure);
    }
  });
  await sleep(2000);
  if (op.gone()) failure = replicaExit = op.gone();
} catch (err) {
  failure ??= String(err?.stack ?? err);
  log(`failed: ${failure}\nlast lines:\n${op?.lines.slice(-15).join('\n')}`);
} finally {
  // The cgroup's last word (an OOM kill after the last sample counts too).
  if (cg && existsSync(cg.path)) finalCgroup = cg.sample();
  await op?.stop();
  await cp.stop();
  if (cg && !(await cg.remove())) log(`could not remove ${cg.path}`);
  rmSync(tmp, { recursive: true, force: true });
}
logLines += op?.lines.length ?? 0;

// ---- the figures ----
const rssMiB = (s) => s.rss / 1024;
const live = samples.filter((s) => s.alive);
const end = live.at(-1)?.t ?? 0;
const firstW = Math.min(300, end / 3);
const first = median(live.filter((s) => s.t <= firstW).map(rssMiB));
const lastW = live.filter((s) => s.t >= end - firstW).map(rssMiB);
const lastMed = median(lastW);
const maxRss = Math.max(...live.map(rssMiB));
const maxHwm = Math.max(...live.map((s) => s.hwm / 1024));
// Least-squares slope of RSS over the last 20 minutes (two thirds of a shorter run).
const slopeFrom = end - Math.min(1200, (end * 2) / 3);
const tail = live.filter((s) => s.t >= slopeFrom);
const mx = tail.reduce((a, s) => a + s.t, 0) / tail.length;
const my = tail.reduce((a, s) => a + rssMiB(s), 0) / tail.length;
const slope =
  (tail.reduce((a, s) => a + (s.t - mx) * (rssMiB(s) - my), 0) /
    tail.reduce((a, s) => a + (s.t - mx) ** 2, 0)) *
  600;
const cgroupReads = [...samples, ...(finalCgroup ? [finalCgroup] : [])];
const cgMax = Math.max(...cgroupReads.map((s) => s.maxUsage)) / MiB;
const failcnt = Math.max(0, ...cgroupReads.map((s) => s.failcnt));
const ooms = Math.max(0, ...cgroupReads.map((s) => s.oomKill));
const fives = counts['5xx'] ?? 0;
const c = (k) => (counts[k] ?? 0).toLocaleString('en-US');
const classes = Object.keys(counts)
  .filter((k) => !k.startsWith('sent ') && !k.includes(': ') && !k.startsWith('abusive'))
  .sort();
const kinds = ['valid', 'fuzzed', 'hostile'];
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const durationNote = DURATION === 1800 ? '' : ` DURATION=${DURATION}`;
const rateNote = RATE === 60 ? '' : ` RATE=${RATE}`;
const section = `## Soak

Measured by \`make bench-soak\` (\`bench/soak/run.sh\`${durationNote || rateNote ? `, with${durationNote}${rateNote}` : ''}) on Node ${process.versions.node}, ${cpus().length} CPUs shared with other
engineers' tests and benchmarks (the run is niced): one replica as shipped (the bundle, the chart's
\`${Object.entries(shippedEnv)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')}\`) in a cgroup v1 memory cgroup limited to ${LIMIT / MiB} MiB, leading, one policy Ready, for
${f0(end)} s of admission traffic at about ${RATE} reviews/s (at most ${SOCKETS} outstanding over keep-alive
connections; ${skipped.toLocaleString('en-US')} slots skipped while ${SOCKETS} were outstanding): about half valid reviews (the 10-container
pod, one in ten the 64 KB pod), 40 % fuzzed (a seeded PRNG, SEED=${SEED}, applies 1–3 mutations to a
valid review: a changed type, a deleted or duplicated key, a string of up to 1 M characters, nesting
up to 200,000 deep, control characters and lone surrogates, truncated or invalid JSON, a wrong
apiVersion/kind/operation, up to 200,000 containers or env entries; 3 % also get an invalid UTF-8
byte), 10 % the hostile shapes of \`bench/lib/hostile.js\` at 10k/100k/1M characters; and every 5 s
one TLS connection that never sends and one request whose body comes 8 bytes a second.
${failure ? `\n**The run failed**: ${failure.split('\n')[0]}\n` : ''}
| answers | valid | fuzzed | hostile | all |
|---|---|---|---|---|
| sent | ${kinds.map((k) => c(`sent ${k}`)).join(' | ')} | ${sent.toLocaleString('en-US')} |
${classes.map((cls) => `| ${cls} | ${kinds.map((k) => c(`${k}: ${cls}`)).join(' | ')} | ${c(cls)} |`).join('\n')}

- Fuzzed reviews: **${mutated.toLocaleString('en-US')}** (mutations: ${Object.entries(mutationCounts)
  .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
  .join(', ')}).
- 5xx: **${fives}**; OOM kills: **${ooms}**; ${replicaExit ? `the replica did not survive (${replicaExit.split('\n')[0]})` : failure ? 'the replica was running when the run stopped' : 'the replica ran to the end'}; cgroup \`failcnt\` ${failcnt} (times usage hit the limit and the kernel reclaimed).
- RSS (\`VmRSS\`, every 5 s): first ${f1(firstW / 60)} min median **${f0(first)} MiB**, last ${f1(firstW / 60)} min median **${f0(lastMed)} MiB**, max **${f0(maxRss)} MiB** (VmHWM ${f0(maxHwm)} MiB).
- Slope of RSS over the last ${f1((end - slopeFrom) / 60)} min (least squares): **${slope >= 0 ? '+' : ''}${f1(slope)} MiB per 10 min**.
- cgroup \`memory.max_usage_in_bytes\` (RSS and page cache charged to it): **${f0(cgMax)} MiB** of ${LIMIT / MiB} MiB.
- Abusive connections: ${Object.keys(counts)
  .filter((k) => k.startsWith('abusive'))
  .sort()
  .map((k) => `${k.slice(9)} ${c(k)}`)
  .join(
    '; ',
  )}; a silent connection was held ${silentHeld.length ? `${f1(median(silentHeld))} s (median), ${f1(Math.max(...silentHeld))} s (max)` : '—'}.
- The replica wrote ${logLines.toLocaleString('en-US')} log lines (warn: each rejected review), ${errorLines.length} at error level or above.
`;
process.stdout.write(section);
if (fiveXX.length) log(`5xx answers:\n${fiveXX.map((x) => JSON.stringify(x)).join('\n')}`);
if (errorLines.length) log(`error lines:\n${errorLines.join('\n')}`);
if (process.env.BENCH_WRITE !== 'false') {
  const doc = join(root, 'docs', 'benchmarks.md');
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  const re = /## Soak\n[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, text);
}
if (failure || fives > 0 || ooms > 0) process.exit(1);
