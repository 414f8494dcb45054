// Run by bench/replica/run.sh on the project's Node against the built dist/: what one replica of the
// operator costs in memory, as each build of it would ship. Starts its own control plane (envtest
// binaries) with POLICIES policies over NAMESPACES namespaces and PODS pods, then, round by round
// with the order of the variants rotating, starts each variant as a real `sidecar-operator run`:
// the leader (policies Ready, caches full) idle, a second replica on standby idle, and the leader
// under admission load (autocannon, 8 connections, DURATION s of a 10-container pod's review).
//   tree      node dist/cli/main.js (the compiled tree; what the image ran before)
//   bundle    node <bundle>/main.mjs (hack/bundle.ts: one entry and a chunk per lazy command)
//   shipped   the bundle with what the chart sets (NODE_OPTIONS, MALLOC_ARENA_MAX from values `runtime`)
// Env: ROUNDS (3), DURATION (10), POLICIES (10), NAMESPACES (50), PODS (500), VARIANTS (all),
// EXTRA_VARIANTS (JSON: name → environment of the bundle),
// BENCH_WRITE=false (print only; else the "Replica memory" section of docs/benchmarks.md).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import autocannon from 'autocannon';
import { policyPath } from '../../dist/api/index.js';
import { ControlPlane } from '../../dist/dev/envtest/index.js';
import { loadKubeConfig, requestJson } from '../../dist/kube/index.js';
import {
  bundleCommand,
  LEASE,
  metrics,
  OP_NS,
  shippedEnvironment,
  startOperator,
  treeCommand,
} from '../lib/operator.js';
import { memory, resetPeak, sleep, spread, steadyRss, until } from '../lib/process.js';
import { review, tenContainerPod } from '../lib/reviews.js';

const root = join(import.meta.dirname, '..', '..');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 10);
const POLICIES = Number(process.env.POLICIES ?? 10);
const NAMESPACES = Number(process.env.NAMESPACES ?? 50);
const PODS = Number(process.env.PODS ?? 500);
const log = (msg) => process.stderr.write(`[replica ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const mib = (kib) => kib / 1024;

const shippedEnv = shippedEnvironment(root);

const tmp = mkdtempSync(join(tmpdir(), 'bench-replica-'));
const bundled = bundleCommand(root, join(tmp, 'bundle'));
const ALL = {
  tree: { command: treeCommand(root), env: {} },
  bundle: { command: bundled, env: {} },
  shipped: { command: bundled, env: shippedEnv },
  // EXTRA_VARIANTS='{"name": {"ENV": "value"}}': the bundle under other settings, to choose them.
  ...Object.fromEntries(
    Object.entries(JSON.parse(process.env.EXTRA_VARIANTS ?? '{}')).map(([name, env]) => [
      name,
      { command: bundled, env },
    ]),
  ),
};
const VARIANTS = (process.env.VARIANTS ?? Object.keys(ALL).join(',')).split(',');

const ready = (p) =>
  p.status?.observedGeneration === p.metadata?.generation &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function pool(count, fn, width = 8) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < count; i = next++) await fn(i);
    }),
  );
}

async function setUp(kc) {
  const post = (path, body) => requestJson(kc, { method: 'POST', path, body });
  await post('/api/v1/namespaces', { metadata: { name: OP_NS } });
  const ns = (i) => `bench-${String(i).padStart(3, '0')}`;
  await pool(NAMESPACES, (i) =>
    post('/api/v1/namespaces', {
      metadata: { name: ns(i), labels: { 'bench-group': String(i % POLICIES) } },
    }),
  );
  await pool(POLICIES, (i) =>
    post(policyPath(), {
      apiVersion: 'sidecar.dev/v1alpha1',
      kind: 'SidecarPolicy',
      metadata: { name: `bench-${i}` },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'bench-group': String(i) } } },
        injection: { failurePolicy: 'Ignore' },
      },
    }),
  );
  // Pods created before any operator runs: admitted without a sidecar, counted by every leader.
  await pool(PODS, (i) =>
    post(`/api/v1/namespaces/${ns(i % NAMESPACES)}/pods`, {
      metadata: { name: `app-${i}`, labels: { app: 'bench' } },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    }),
  );
}

async function allReady(kc) {
  await until(
    'every policy Ready',
    async () => {
      const list = await requestJson(kc, { path: policyPath() });
      return list.items.filter(ready).length === POLICIES;
    },
    300_000,
  );
}

/** One variant, from start to stop: leader idle, standby idle, leader under load. */
async function measure(info, kc, name, variant, round) {
  const out = {};
  const a = await startOperator(variant.command, info.adminKubeconfigPath, `${name}-a-${round}`, {
    env: variant.env,
  });
  let b;
  try {
    await until(
      'the leader reconciling every policy',
      async () => {
        const m = await metrics(a.metricsPort);
        return m && m.leader === 1 && m.reconciles >= POLICIES;
      },
      300_000,
      a.gone,
    );
    await allReady(kc);
    out.start = mib(memory(a.pid).hwm);
    await sleep(10_000);
    out.leaderIdle = mib(await steadyRss(a.pid, 5_000));
    b = await startOperator(variant.command, info.adminKubeconfigPath, `${name}-b-${round}`, {
      env: variant.env,
    });
    await until('the standby serving', () => metrics(b.metricsPort), 60_000, b.gone);
    await sleep(10_000);
    out.standbyIdle = mib(await steadyRss(b.pid, 5_000));
    // The leader's webhook (it has every policy's template) under load.
    const body = review({
      ...tenContainerPod(),
      metadata: { ...tenContainerPod().metadata, namespace: 'bench-000' },
    });
    const url = `https://127.0.0.1:${a.webhookPort}/inject/bench-0`;
    const warm = await autocannon({
      url,
      method: 'POST',
      body,
      connections: 2,
      duration: 2,
      headers: { 'content-type': 'application/json' },
      tlsOptions: { rejectUnauthorized: false },
    });
    if (warm.non2xx > 0 || warm.errors > 0)
      throw new Error(`${name}: the webhook answered ${warm.non2xx} non-2xx, ${warm.errors} errors`);
    resetPeak(a.pid);
    const r = await autocannon({
      url,
      method: 'POST',
      body,
      connections: 8,
      duration: DURATION,
      headers: { 'content-type': 'application/json' },
      tlsOptions: { rejectUnauthorized: false },
    });
    if (r.non2xx > 0 || r.errors > 0)
      throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    out.loadPeak = mib(memory(a.pid).hwm);
    out.reviews = r.requests.average;
    out.p99 = r.latency.p99;
    await sleep(10_000);
    out.afterLoad = mib(memory(a.pid).rss);
  } catch (err) {
    log(`${name}: last lines:\n${a.lines.slice(-15).join('\n')}`);
    throw err;
  } finally {
    await b?.stop();
    await a.stop();
    await requestJson(kc, {
      method: 'DELETE',
      path: `/apis/coordination.k8s.io/v1/namespaces/${OP_NS}/leases/${LEASE}`,
    }).catch(() => undefined);
  }
  return out;
}

const cp = new ControlPlane({ controllerManager: false, crds: [join(root, 'crds')] });
const info = await cp.start();
const kc = loadKubeConfig({ kubeconfigYaml: info.adminKubeconfig });
const results = Object.fromEntries(VARIANTS.map((v) => [v, []]));
try {
  await setUp(kc);
  log(`${POLICIES} policies, ${NAMESPACES} namespaces, ${PODS} pods`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const name of order) {
      const r = await measure(info, kc, name, ALL[name], round);
      results[name].push(r);
      log(
        `round ${round + 1} ${name}: ${JSON.stringify(r, (k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`,
      );
    }
  }
} finally {
  await cp.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const cell = (name, key, fmt) =>
  spread(
    results[name].map((r) => r[key]),
    fmt,
  );
const m = (x) => x.toFixed(0);
const rows = [
  ['leader idle RSS (MiB)', 'leaderIdle', m],
  ['standby idle RSS (MiB)', 'standbyIdle', m],
  ['leader peak RSS from start to Ready (MiB)', 'start', m],
  ['leader peak RSS under load (MiB)', 'loadPeak', m],
  ['leader RSS 10 s after the load (MiB)', 'afterLoad', m],
  ['reviews/s, 8 connections', 'reviews', m],
  ['p99 latency (ms)', 'p99', m],
];
const table = [
  `| what | ${VARIANTS.join(' | ')} |`,
  `|---|${VARIANTS.map(() => '---').join('|')}|`,
  ...rows.map(([label, key, fmt]) => `| ${label} | ${VARIANTS.map((v) => cell(v, key, fmt)).join(' | ')} |`),
].join('\n');
const section = `## Replica memory

Measured by \`make bench-replica\` (\`bench/replica/run.sh\`): the real \`sidecar-operator run\` process against a
control plane it starts (${POLICIES} policies over ${NAMESPACES} namespaces, ${PODS} pods), ${ROUNDS} rounds with the order of
the variants rotating, on Node ${process.versions.node}, ${cpus().length} CPUs, shared with other work. Each cell is the median (min–max)
over the rounds. RSS is \`VmRSS\` (idle: the median of 5 s of samples, 10 s after Ready) and \`VmHWM\` (peaks).
Under load: autocannon, 8 connections, ${DURATION} s, the 10-container pod's review to the leader's webhook.

- **tree**: \`node dist/cli/main.js run\`, the compiled tree (what the image ran before).
- **bundle**: \`node main.mjs run\` of \`hack/bundle.ts\` (esbuild: one entry, a chunk per lazily loaded command).
- **shipped**: the bundle with the chart's default settings (values \`runtime\`, 256 MiB limit): \`${Object.entries(
  shippedEnv,
)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')}\`.

${table}
`;
process.stdout.write(section);
if (process.env.BENCH_WRITE !== 'false') {
  const doc = join(root, 'docs', 'benchmarks.md');
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  const re = /## Replica memory\n[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, text);
}
