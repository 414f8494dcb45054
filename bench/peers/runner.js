// Run by bench/peers/compare.sh: ours against Istio, interleaved round by round (the order flips
// every round), on the project's Node against the built dist/. Args: <peers dir> <tmp dir with
// cert.pem and key.pem>. Env: ROUNDS (5), DURATION (seconds of load per webhook round, 10).
import { fork, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { setTimeout } from 'node:timers/promises';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { stringify } from 'yaml';
import { shippedEnvironment } from '../lib/operator.js';
import { spread } from '../lib/process.js';
import { bigPod, review, tenContainerPod } from '../lib/reviews.js';

const root = join(import.meta.dirname, '..', '..');
const [peers, tmp] = process.argv.slice(2);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION = Number(process.env.DURATION ?? 10);
const certFile = join(tmp, 'cert.pem');
const keyFile = join(tmp, 'key.pem');
const ca = readFileSync(certFile, 'utf8');
const istioctl = join(peers, 'bin', 'istioctl');
const injectDir = join(peers, 'inject');
const main = join(root, 'dist', 'cli', 'main.js');
const shipped = shippedEnvironment(root);

// ---- inputs: the same AdmissionReviews and manifests for both

/** 500 Deployments and 500 Pods (the manifest of bench/inject). */
function manifest(docs) {
  const parts = [];
  for (let i = 0; i < docs; i++) {
    parts.push(
      i % 2 === 0
        ? `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-${i}, namespace: apps}
spec:
  selector: {matchLabels: {app: web-${i}}}
  template:
    metadata: {labels: {app: web-${i}}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1
          ports: [{containerPort: 8080}]
        - name: worker
          image: registry.example/worker:1
`
        : `apiVersion: v1
kind: Pod
metadata: {name: pod-${i}, namespace: apps}
spec:
  containers:
    - name: app
      image: registry.example/app:1
      ports: [{containerPort: 9080}]
`,
    );
  }
  return parts.join('---\n');
}

const tenBody = review(tenContainerPod());
const bigBody = review(bigPod());
const files = {
  manifest: join(tmp, 'manifest.yaml'),
  big: join(tmp, 'big-pod.yaml'),
  policy: join(tmp, 'policy.yaml'),
  out: join(tmp, 'out.yaml'),
};
writeFileSync(files.manifest, manifest(1000));
writeFileSync(files.big, stringify(bigPod()));
writeFileSync(
  files.policy,
  'apiVersion: sidecar.dev/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: bench}\nspec:\n  selector: {namespaces: [apps]}\n',
);

// ---- the servers

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)[1]);
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

/**
 * Ours as the image ships it: the webhook server bundled with its dependencies (as hack/bundle.ts
 * bundles the CLI), under the chart's runtime settings (NODE_OPTIONS, MALLOC_ARENA_MAX).
 */
async function startOurs() {
  const server = join(tmp, 'server.mjs');
  await build({
    entryPoints: [join(root, 'bench', 'webhook', 'server.js')],
    outfile: server,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  const child = fork(server, [certFile, keyFile], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...shipped },
  });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  return {
    name: 'ours',
    child,
    url: `https://127.0.0.1:${port}/inject/mesh`,
    stop: () => child.send('stop'),
  };
}

async function startIstio() {
  const bin = join(peers, 'bin', 'istio-webhook');
  const child = spawn(
    bin,
    ['-inject-dir', injectDir, '-mesh', join(injectDir, 'mesh'), '-cert', certFile, '-key', keyFile],
    // As on a cluster whose nodes all run native sidecars (ours runs in Native mode too).
    { env: { ...process.env, ENABLE_NATIVE_SIDECARS: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.on('data', () => undefined);
  const port = await new Promise((resolve, reject) => {
    let text = '';
    child.once('exit', (code) => reject(new Error(`istio-webhook exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const m = /^listening (\d+)$/m.exec(text);
      if (m) {
        resolve(Number(m[1]));
        text = '';
      } else if (text.length > 1e5) text = text.slice(-1000);
    });
  });
  return { name: 'istio', child, url: `https://127.0.0.1:${port}/inject`, stop: () => child.kill('SIGTERM') };
}

function post(url, body, agent) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca, agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString())
            : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Both answer with a JSON Patch that adds a sidecar. */
async function check(server, body) {
  const answer = JSON.parse(await post(server.url, body));
  const patch = answer.response?.patch && JSON.parse(Buffer.from(answer.response.patch, 'base64').toString());
  if (answer.response?.patchType !== 'JSONPatch' || !Array.isArray(patch) || patch.length === 0)
    throw new Error(`${server.name}: unexpected answer: ${JSON.stringify(answer).slice(0, 500)}`);
  return patch.length;
}

function load(server, connections, duration) {
  return autocannon({
    url: server.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: tenBody,
    connections,
    duration,
    tlsOptions: { ca },
  });
}

async function sequential(server, body, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const times = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await post(server.url, body, agent);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// ---- the CLIs

/** Wall seconds and peak RSS (bytes) of one run, output to a file, as /usr/bin/time measures them. */
function timed(argv) {
  const out = openSync(files.out, 'w');
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', ...argv], {
    stdio: ['ignore', out, 'pipe'],
    encoding: 'utf8',
    cwd: root,
  });
  closeSync(out);
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m)
    throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), rss: Number(m[2]) * 1024, output: readFileSync(files.out, 'utf8') };
}

const ourInject = (file) => [process.execPath, main, 'inject', '-f', file, '--policy', files.policy];
const istioInject = (file) => [
  istioctl,
  'kube-inject',
  '-f',
  file,
  '--revision',
  'default',
  '--injectConfigFile',
  join(injectDir, 'config'),
  '--meshConfigFile',
  join(injectDir, 'mesh'),
  '--valuesFile',
  join(injectDir, 'values'),
];
const cli = {
  inject1000: {
    ours: ourInject(files.manifest),
    istio: istioInject(files.manifest),
    proxy: /sidecar-proxy|istio-proxy/,
  },
  inject64k: {
    ours: ourInject(files.big),
    istio: istioInject(files.big),
    proxy: /sidecar-proxy|istio-proxy/,
  },
  startup: {
    ours: [process.execPath, main, 'version', '--client'],
    istio: [istioctl, 'version', '--remote=false'],
  },
};

// ---- the run

const results = {}; // metric -> { ours: [], istio: [] }
const record = (metric, who, value) => {
  results[metric] ??= { ours: [], istio: [] };
  results[metric][who].push(value);
};
const log = (s) => process.stderr.write(`${s}\n`);

const servers = { ours: await startOurs(), istio: await startIstio() };
const patchOps = {};
for (const s of Object.values(servers)) {
  patchOps[s.name] = await check(s, tenBody);
  await check(s, bigBody);
}
for (const s of Object.values(servers)) {
  await setTimeout(2000);
  record('idle RSS', s.name, rssOf(s.child.pid).rss);
  await load(s, 4, 3); // warm-up: JIT, TLS sessions
}
for (const [name, argv] of Object.entries(cli)) {
  // One run of each first: outputs checked, caches warm.
  for (const who of ['ours', 'istio']) {
    const r = timed(argv[who]);
    if (argv.proxy && !argv.proxy.test(r.output)) throw new Error(`${name} ${who}: no sidecar in the output`);
  }
}

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['ours', 'istio'] : ['istio', 'ours'];
  for (const who of order) {
    const r = await load(servers[who], 8, DURATION);
    if (r.errors > 0 || r.non2xx > 0)
      throw new Error(`${who}: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
    record('reviews/s', who, r.requests.average);
    record('p99 (ms)', who, r.latency.p99);
    record('64 KB p50 (ms)', who, await sequential(servers[who], bigBody, 200));
    for (const [name, argv] of Object.entries(cli)) {
      const t = timed(argv[who]);
      record(`${name} s`, who, t.seconds);
      if (name !== 'startup') record(`${name} RSS`, who, t.rss);
    }
  }
  log(`round ${round + 1}/${ROUNDS} done`);
}
for (const s of Object.values(servers)) record('peak RSS under load', s.name, rssOf(s.child.pid).peak);
for (const s of Object.values(servers)) s.stop();

// ---- the report

const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
/**
 * Per-round ratios (each round ran both), `better` being how many times better ours is: Istio/ours
 * for times and memory, ours/Istio for throughput.
 */
function ratio(metric, higherIsBetter) {
  const { ours, istio } = results[metric];
  const rs = ours.map((o, i) => (higherIsBetter ? o / istio[i] : istio[i] / o));
  return spread(rs, (x) => `${f(x, 2)}×`);
}
const mib = (b) => f(b / 2 ** 20, 0);
const ms = (x) => f(x, x < 10 ? 2 : 1);
const s = (x) => f(x, 2);
const rows = [
  ['webhook, 10-container pod, 8 connections: reviews/s', 'reviews/s', (x) => f(x), true],
  ['webhook, same: p99 latency (ms; autocannon counts whole ms)', 'p99 (ms)', ms, false],
  ['webhook, 64 KB pod (1,500 env vars), 1 connection: p50 (ms)', '64 KB p50 (ms)', ms, false],
  ['webhook replica RSS idle, after start (MiB)', 'idle RSS', mib, false],
  ['webhook replica peak RSS under load (MiB)', 'peak RSS under load', mib, false],
  ['`inject`, 1,000 documents (500 Deployments, 500 Pods): wall (s)', 'inject1000 s', s, false],
  ['`inject`, same: peak RSS (MiB)', 'inject1000 RSS', mib, false],
  ['`inject`, 64 KB pod: wall (s)', 'inject64k s', s, false],
  ['`inject`, 64 KB pod: peak RSS (MiB)', 'inject64k RSS', mib, false],
  ['CLI start-up, `version` (s)', 'startup s', s, false],
];
const table = rows
  .map(
    ([label, metric, fmt, higher]) =>
      `| ${label} | ${spread(results[metric].ours, fmt)} | ${spread(results[metric].istio, fmt)} | ${ratio(metric, higher)} |`,
  )
  .join('\n');
const section = `## Against Istio

Measured by \`make bench-peers\` (\`bench/peers/compare.sh\`, ${ROUNDS} rounds, ours and Istio's in each, the order
flipping every round) on Node ${process.versions.node}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), shared with other
work. Istio is \`istio.io/istio@${readFileSync(join(root, 'bench', 'peers', 'versions.env'), 'utf8').match(/ISTIO_MODULE_VERSION=(\S+)/)[1]}\` (release-1.31 branch) built by
\`bench/peers/build.sh\`: \`istioctl\` from \`go install\`, and Istio's injection webhook served by a small main of
ours (\`bench/peers/istio-webhook\`) wired as istiod wires \`inject.NewWebhook\`, with the default template,
values and mesh config of \`istioctl manifest generate\`, native sidecars on (ours runs in Native mode). Both
servers answer over HTTPS (same certificate, keep-alive) the same AdmissionReview from the same load
generator (autocannon, ${DURATION} s per round); ours is \`bench/webhook/server.js\` (the operator's webhook server,
info-level JSON logs) bundled as the image ships the CLI, under the chart's runtime settings (\`${Object.entries(
  shipped,
)
  .map(([k, v]) => `${k}=${v}`)
  .join(
    ' ',
  )}\`), Istio's logs its info lines too. Ours answers with ${patchOps.ours} operations, Istio with ${patchOps.istio}.

Each cell is the median (min–max) over the rounds; the ratio is how many times better ours is
(Istio/ours for times and memory, ours/Istio for throughput), per round.

| what | ours | Istio | ours vs Istio |
|---|---|---|---|
${table}

Commands, per round: \`node dist/cli/main.js inject -f manifest.yaml --policy policy.yaml\` against
\`istioctl kube-inject -f manifest.yaml --revision default --injectConfigFile inject/config --meshConfigFile inject/mesh --valuesFile inject/values\`
(output to a file; wall and peak RSS from \`/usr/bin/time\`), and \`node dist/cli/main.js version --client\` against
\`istioctl version --remote=false\`. RSS of the replicas is \`VmRSS\` (idle) and \`VmHWM\` (peak) of the server
process.
`;

const doc = join(root, 'docs', 'benchmarks.md');
let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
const re = /## Against Istio\n[\s\S]*?(?=\n## |$)/;
text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
writeFileSync(doc, text);
process.stdout.write(section);
