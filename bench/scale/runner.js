// Run by bench/scale/run.sh on the project's Node (24) against the built dist/. Starts its own
// control plane (the envtest binaries) and the operator as its own process (`dist/cli/main.js run`).
/* global URL */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch } from 'undici';
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
import { MemoryCgroup, MiB } from '../lib/cgroup.js';
import { memory, resetPeak, steadyRss, until } from '../lib/process.js';

const root = join(import.meta.dirname, '..', '..');
const SIZES = (process.env.BENCH_SIZES ?? '10000,50000,150000').split(',').map(Number);
const NAMESPACES = Number(process.env.BENCH_NAMESPACES ?? 10000);
const POLICIES = Number(process.env.BENCH_POLICIES ?? 100);
/** Each replica runs in a cgroup v1 memory cgroup of this many bytes (the chart's limit); 0: none. */
const LIMIT = Number(process.env.BENCH_LIMIT ?? 256 * MiB);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const COMPARE = process.env.BENCH_COMPARE;
/** BENCH_TREE=true: also this checkout's compiled tree (what the image ran before its bundle). */
const TREE = process.env.BENCH_TREE === 'true';
/** The operator as installed: the image's bundle under the chart's runtime settings. */
const SHIPPED = {
  command: bundleCommand(root, mkdtempSync(join(tmpdir(), 'bench-scale-bundle-'))),
  env: shippedEnvironment(root),
};
/** Sizes above this are measured for this checkout only (the other may need gigabytes there). */
const COMPARE_MAX = Number(process.env.BENCH_COMPARE_MAX ?? Infinity);
const log = (msg) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const mib = (kib) => Math.round(kib / 1024);

/** Runs `fn` over 0..count-1 with `CONCURRENCY` requests in flight (one keep-alive pool). */
async function parallel(count, fn) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      for (let attempt = 0; ; attempt++) {
        try {
          await fn(i);
          break;
        } catch (err) {
          if (err?.failure?.code === 409) break;
          if (attempt >= 5) throw err;
          await sleep(200 * (attempt + 1));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/**
 * Writes objects straight into etcd as the API server stores them (JSON, which it decodes as it
 * does protobuf), `BATCH` puts per transaction: the API server of this shared 2-CPU machine admits
 * some 50 pods/s, etcd takes thousands. The API server's watch cache sees them as any write.
 */
const BATCH = 100;
function etcdUrl(cp) {
  const etcd = cp.procs.find((p) => p.name === 'etcd');
  return etcd.args.find((a) => a.startsWith('--listen-client-urls=')).split('=')[1];
}
async function etcdPut(url, count, keyOf, objectOf) {
  const b64 = (s) => Buffer.from(s).toString('base64');
  await parallel(Math.ceil(count / BATCH), async (batch) => {
    const success = [];
    for (let i = batch * BATCH; i < Math.min(count, (batch + 1) * BATCH); i++)
      success.push({ requestPut: { key: b64(keyOf(i)), value: b64(JSON.stringify(objectOf(i))) } });
    const res = await fetch(`${url}/v3/kv/txn`, { method: 'POST', body: JSON.stringify({ success }) });
    if (!res.ok) throw new Error(`etcd txn: ${res.status} ${await res.text()}`);
    await res.text();
  });
}

const created = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
function namespaceObject(name, labels) {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: randomUUID(),
      creationTimestamp: created(),
      labels: { ...labels, 'kubernetes.io/metadata.name': name },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}
/** A bare pod as `kubectl run` would leave it before scheduling, managedFields included. */
function podObject(namespace, name, app) {
  const t = created();
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      creationTimestamp: t,
      labels: { app },
      managedFields: [
        {
          manager: 'kubectl-run',
          operation: 'Update',
          apiVersion: 'v1',
          time: t,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:image': {},
                  'f:imagePullPolicy': {},
                  'f:name': {},
                  'f:resources': {},
                  'f:terminationMessagePath': {},
                  'f:terminationMessagePolicy': {},
                },
              },
              'f:dnsPolicy': {},
              'f:enableServiceLinks': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:securityContext': {},
              'f:terminationGracePeriodSeconds': {},
            },
          },
        },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

/** The metrics of `port`, waiting out a busy moment. */
const metricsOf = (port) => until('metrics', () => metrics(port), 60_000);

const ready = (p) =>
  p.status?.observedGeneration === p.metadata?.generation &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** All policies Ready with the pod counts of `pods`, after `op` reconciled each at least once. */
async function allReady(kc, op, pods, timeoutMs = 600_000) {
  return until(
    'all policies Ready',
    async () => {
      const m = await metrics(op.metricsPort);
      if (!m || m.reconciles < POLICIES) return false;
      const list = await requestJson(kc, { path: policyPath() });
      return (
        list.items.filter((p) => ready(p) && p.status?.uninjectedPods === pods / POLICIES).length === POLICIES
      );
    },
    timeoutMs,
    op.gone,
  );
}

/**
 * A replica of `variant` named `identity`, in its own memory cgroup when LIMIT is set; `gone`
 * also reports an OOM kill in it.
 */
async function replica(variant, kubeconfigPath, identity) {
  const cg = LIMIT > 0 ? new MemoryCgroup(`sidecar-scale-${process.pid}-${identity}`, LIMIT) : undefined;
  const op = await startOperator(cg ? cg.wrap(variant.command) : variant.command, kubeconfigPath, identity, {
    env: variant.env,
  });
  const gone = op.gone;
  op.cgroup = cg;
  op.gone = () => {
    const oom = cg?.sample().oomKill;
    return oom ? `OOM-killed in its ${LIMIT / MiB} MiB cgroup` : gone();
  };
  const stop = op.stop;
  op.stop = async () => {
    await stop();
    if (cg && !(await cg.remove())) log(`could not remove ${cg.path}`);
  };
  if (cg)
    await until(`the replica (${op.pid}) in ${cg.path}`, () => cg.has(op.pid), 10_000, gone).catch(
      async (err) => {
        await op.stop();
        throw err;
      },
    );
  return op;
}
/** The cgroup's peak usage (MiB: RSS and page cache charged to it), or undefined without one. */
const cgroupPeak = (op) => (op.cgroup ? Math.round(op.cgroup.sample().maxUsage / MiB) : undefined);

async function measure({ info, kc, variant, pods, run }) {
  const out = {};
  const a = await replica(variant, info.adminKubeconfigPath, `bench-a-${run}`);
  try {
    await allReady(kc, a, pods);
    out.startToReady = (performance.now() - a.started) / 1000;
    out.startPeak = mib(memory(a.pid).hwm);
    out.startCgroupPeak = cgroupPeak(a);
    await sleep(5_000);
    out.steady = mib(await steadyRss(a.pid, 5_000));
    // A periodic resync (every 20 s): from the first to the last of its POLICIES reconciles.
    const base = (await metricsOf(a.metricsPort)).reconciles;
    const first = await until(
      'a resync',
      async () => (await metricsOf(a.metricsPort)).reconciles > base && performance.now(),
      30_000,
    );
    await until(
      'the resync to end',
      async () => (await metricsOf(a.metricsPort)).reconciles >= base + POLICIES,
      60_000,
    );
    out.resync = (performance.now() - first) / 1000;
    // Three edits of one policy: new revision in status, Ready, observedGeneration caught up.
    out.edits = [];
    for (let i = 0; i < 3; i++) {
      const name = `bench-${(run * 3 + i) % POLICIES}`;
      const before = (await requestJson(kc, { path: policyPath(name) })).status?.revision;
      const t0 = performance.now();
      await requestJson(kc, {
        method: 'PATCH',
        path: policyPath(name),
        body: { spec: { proxy: { args: [`--concurrency=${run * 3 + i + 2}`] } } },
        contentType: 'application/merge-patch+json',
      });
      await until(
        'edit Ready',
        async () => {
          const p = await requestJson(kc, { path: policyPath(name) });
          return ready(p) && p.status?.revision !== before;
        },
        60_000,
        a.gone,
      ).catch(async (err) => {
        const p = await requestJson(kc, { path: policyPath(name) }).catch(() => undefined);
        log(`edit of ${name} not Ready: ${JSON.stringify(p?.status)}`);
        throw err;
      });
      out.edits.push((performance.now() - t0) / 1000);
    }
    // Every watch lost twice in a row (its connections to the API server reset by `ss -K`): an
    // informer whose watch fails twice lists again (from the last resourceVersion) while holding
    // its cache, as after a watch expiry.
    resetPeak(a.pid);
    a.cgroup?.resetPeak();
    const apiPort = new URL(info.server).port;
    const marks = a.lines.length;
    for (let i = 0; i < 3; i++) {
      execFileSync('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${apiPort}`], { stdio: 'ignore' });
      await sleep(1_000);
    }
    const back = performance.now();
    await sleep(20_000);
    out.relistPeak = mib(memory(a.pid).hwm);
    out.relistCgroupPeak = cgroupPeak(a);
    out.relistWarnings = a.lines.slice(marks).filter((l) => /relist|watch failed/.test(l)).length;
    out.afterRelist = mib(memory(a.pid).rss);
    await allReady(kc, a, pods, 120_000);
    out.readyAfterRelist = (performance.now() - back) / 1000;
    // Leader handover: a second replica waits on the Lease; the leader is stopped (it releases it).
    const b = await replica(variant, info.adminKubeconfigPath, `bench-b-${run}`);
    try {
      await until('the standby serving', () => metrics(b.metricsPort), 60_000);
      await sleep(3_000);
      out.standby = mib(memory(b.pid).rss);
      const t0 = performance.now();
      await a.stop();
      await until(
        'the new leader reconciling every policy',
        async () => {
          const m = await metrics(b.metricsPort);
          return m && m.leader === 1 && m.reconciles >= POLICIES;
        },
        300_000,
        b.gone,
      );
      out.handover = (performance.now() - t0) / 1000;
      out.handoverPeak = mib(memory(b.pid).hwm);
      out.handoverCgroupPeak = cgroupPeak(b);
    } finally {
      await b.stop();
    }
  } catch (err) {
    log(`operator ${a.pid}, last lines:\n${a.lines.slice(-15).join('\n')}`);
    log(`measured before it failed: ${JSON.stringify(out)}`);
    err.partial = out;
    throw err;
  } finally {
    await a.stop();
  }
  await requestJson(kc, {
    method: 'DELETE',
    path: `/apis/coordination.k8s.io/v1/namespaces/${OP_NS}/leases/${LEASE}`,
  }).catch(() => undefined);
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const range = (xs, digits = 0) => {
  const f = (x) => x.toFixed(digits);
  return xs.length > 1 ? `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : f(xs[0]);
};

async function main() {
  const cp = new ControlPlane({ controllerManager: false, crds: [join(root, 'crds')] });
  const info = await cp.start();
  const kc = loadKubeConfig({ kubeconfigYaml: info.adminKubeconfig });
  const results = [];
  const failures = [];
  const rates = {};
  try {
    await requestJson(kc, {
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { metadata: { name: OP_NS } },
    });
    const ns = (i) => `bench-${String(i).padStart(5, '0')}`;
    const etcd = etcdUrl(cp);
    let t0 = performance.now();
    await etcdPut(
      etcd,
      NAMESPACES,
      (i) => `/registry/namespaces/${ns(i)}`,
      (i) => namespaceObject(ns(i), { 'bench-group': String(i % POLICIES) }),
    );
    rates.namespaces = NAMESPACES / ((performance.now() - t0) / 1000);
    log(`${NAMESPACES} namespaces, ${Math.round(rates.namespaces)}/s`);
    // failurePolicy Ignore: pods created while no operator runs are admitted (uninjected).
    await parallel(POLICIES, (i) =>
      requestJson(kc, {
        method: 'POST',
        path: policyPath(),
        body: {
          apiVersion: 'sidecar.dev/v1alpha1',
          kind: 'SidecarPolicy',
          metadata: { name: `bench-${i}` },
          spec: {
            selector: { namespaceSelector: { matchLabels: { 'bench-group': String(i) } } },
            injection: { failurePolicy: 'Ignore' },
          },
        },
      }),
    );
    // The first start writes everything (ConfigMap, webhooks, namespace marks): not measured.
    const warm = await startOperator(SHIPPED.command, info.adminKubeconfigPath, 'bench-warm', {
      env: SHIPPED.env,
    });
    t0 = performance.now();
    await allReady(kc, warm, 0);
    log(`first start (everything written) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await warm.stop();
    await requestJson(kc, {
      method: 'DELETE',
      path: `/apis/coordination.k8s.io/v1/namespaces/${OP_NS}/leases/${LEASE}`,
    }).catch(() => undefined);
    let have = 0;
    for (const size of SIZES) {
      t0 = performance.now();
      const from = have;
      await etcdPut(
        etcd,
        size - from,
        (k) => `/registry/pods/${ns((from + k) % NAMESPACES)}/pod-${from + k}`,
        (k) => podObject(ns((from + k) % NAMESPACES), `pod-${from + k}`, `a${(from + k) % 10}`),
      );
      have = size;
      rates[size] = (size - from) / ((performance.now() - t0) / 1000);
      log(`${size} pods (${Math.round(rates[size])}/s)`);
      for (const [variant, spec] of [
        ['this', SHIPPED],
        ...(TREE ? [['tree', { command: treeCommand(root), env: {} }]] : []),
        ...(COMPARE && size <= COMPARE_MAX ? [['compare', { command: treeCommand(COMPARE), env: {} }]] : []),
      ]) {
        for (let run = 0; run < RUNS; run++) {
          await measure({ info, kc, variant: spec, pods: size, run }).then(
            (r) => {
              log(`${variant} ${size}: ${JSON.stringify(r)}`);
              results.push({ variant, size, ...r });
            },
            (err) => {
              log(`${variant} ${size}: ${err.message}`);
              failures.push({ variant, size, run, why: err.message, partial: err.partial });
            },
          );
        }
      }
    }
  } finally {
    await cp.stop();
  }
  report(info, rates, results, failures);
}

function report(info, rates, results, failures) {
  const cpu = cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'unknown CPU';
  const rows = [];
  const LABEL = {
    this: 'now (image bundle, chart settings)',
    tree: 'now (compiled tree)',
    compare: 'before',
  };
  for (const variant of ['this', 'tree', 'compare']) {
    for (const size of SIZES) {
      const rs = results.filter((r) => r.variant === variant && r.size === size);
      if (rs.length === 0) continue;
      const col = (k, d = 0) =>
        range(
          rs.map((r) => r[k]),
          d,
        );
      const cg = (k) => (rs.every((r) => r[k] !== undefined) ? ` / ${col(k)}` : '');
      rows.push(
        `| ${LABEL[variant]} | ${size.toLocaleString('en')} | ${col('startToReady', 1)} | ${col('startPeak')}${cg('startCgroupPeak')} | ${col('steady')} | ${col('relistPeak')}${cg('relistCgroupPeak')} | ${col('handover', 1)} | ${col('handoverPeak')}${cg('handoverCgroupPeak')} | ${range(
          rs.flatMap((r) => r.edits),
          2,
        )} | ${col('resync', 2)} |`,
      );
    }
  }
  const slope = (variant, key) => {
    const rs = results.filter((r) => r.variant === variant);
    const sizes = [...new Set(rs.map((r) => r.size))];
    if (sizes.length < 2) return '–';
    const [s0, s1] = [Math.min(...sizes), Math.max(...sizes)];
    const at = (size) => median(rs.filter((r) => r.size === size).map((r) => r[key]));
    return `${((at(s1) - at(s0)) / ((s1 - s0) / 10000)).toFixed(1)} (${s0.toLocaleString('en')}–${s1.toLocaleString('en')} pods)`;
  };
  const section = `## Scale

Measured by \`bench/scale/run.sh\` on Node ${process.versions.node}, ${cpus().length} CPUs (${cpu}), shared with other
work. A fresh envtest control plane (etcd, kube-apiserver ${info.serverVersion}, no controller manager), ${NAMESPACES.toLocaleString('en')}
namespaces, ${POLICIES} policies each selecting ${NAMESPACES / POLICIES} namespaces by label, bare unscheduled pods (one container,
managedFields as \`kubectl run\` leaves them) and namespaces written straight into etcd, ${BATCH} per transaction, ${CONCURRENCY}
transactions in flight (the API server itself admitted about 50 pods/s on this loaded machine): ${Object.entries(
    rates,
  )
    .filter(([k]) => k !== 'namespaces')
    .map(([k, v]) => `${Math.round(v)}/s up to ${Number(k).toLocaleString('en')}`)
    .join(', ')}; namespaces ${Math.round(rates.namespaces)}/s). The operator
is the real \`sidecar-operator run\` process as the image runs it (\`hack/bundle.ts\`, with the chart's
\`${Object.entries(SHIPPED.env)
    .map(([k, v]) => `${k}=${v}`)
    .join(
      ' ',
    )}\`; leader election on, 4 workers, resync every 20 s)${LIMIT > 0 ? `, each replica in its own cgroup v1 memory cgroup limited to ${LIMIT / MiB} MiB (the chart's limit)` : ''}; RSS is
its VmRSS and VmHWM from /proc${LIMIT > 0 ? ', "a / b" is VmHWM / the cgroup\'s peak usage (RSS and page cache charged to it)' : ''}. Times in seconds, memory in MiB; median (min–max) where runs repeat.

| build | pods | start → all Ready | peak at start | steady | peak at relist | handover → new leader reconciled | its peak | edit → Ready | resync |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${failures.length ? `\nRuns that did not finish: ${failures.map((f) => `${LABEL[f.variant]} at ${f.size.toLocaleString('en')} pods: ${f.why}${f.partial && Object.keys(f.partial).length ? ` (measured before: ${JSON.stringify(f.partial)})` : ''}`).join('; ')}.\n` : ''}
Slope of the steady RSS: ${slope('this', 'steady')} MiB per 10,000 pods now${results.some((r) => r.variant === 'compare') ? `, ${slope('compare', 'steady')} before` : ''}; of the peak at start: ${slope('this', 'startPeak')} now${results.some((r) => r.variant === 'compare') ? `, ${slope('compare', 'startPeak')} before` : ''}.
`;
  const doc = join(root, 'docs', 'benchmarks.md');
  let text = readFileSync(doc, 'utf8');
  const re = /## Scale\n[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  if (process.env.BENCH_WRITE !== 'false') writeFileSync(doc, text);
  process.stdout.write(section);
  writeFileSync(join(tmpdir(), 'bench-scale-results.json'), JSON.stringify({ rates, results }, null, 1));
}

await main();
