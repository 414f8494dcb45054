// Load generator: autocannon against the webhook server child process (bench/webhook/server.js).
import { fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { review, tenContainerPod } from '../lib/reviews.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const [certFile, keyFile] = process.argv.slice(2);
const ca = readFileSync(certFile, 'utf8');

const body = review(tenContainerPod());

// What loading the same modules costs, without a server: the floor under the server's RSS.
const baseline = await new Promise((resolve, reject) => {
  const probe = fork(join(here, 'baseline.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  probe.once('message', (m) => resolve(m.rss));
  probe.once('error', reject);
});

const child = fork(join(here, 'server.js'), [certFile, keyFile], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const next = () => new Promise((resolve) => child.once('message', resolve));
const ask = (msg) => {
  const reply = next();
  child.send(msg);
  return reply;
};
const { port, rss: idleRss } = await next();
const url = `https://127.0.0.1:${port}/inject/mesh`;

function load(connections, duration) {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
    tlsOptions: { ca },
  });
}

// Check the answer once: a pod injected with a patch, not an error or a skip.
const answer = await new Promise((resolve, reject) => {
  const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
    let text = '';
    res.on('data', (c) => (text += c));
    res.on('end', () => resolve(JSON.parse(text)));
  });
  req.on('error', reject);
  req.end(body);
});
if (answer.response?.patchType !== 'JSONPatch')
  throw new Error(`unexpected answer: ${JSON.stringify(answer)}`);
const patchOps = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()).length;
/**
 * autocannon reports whole milliseconds; for latency at low load, time sequential reviews over one
 * kept-alive connection with a microsecond clock instead.
 */
async function timedSequential(count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const once = () =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
              : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const times = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) times.push(await once());
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] };
}

await load(4, 3); // warm-up: JIT, TLS sessions
await ask('reset');
const sequential = await timedSequential(5000);
const parallel = await load(8, 15);
const { rss, peak } = await ask('rss');
child.send('stop');

for (const r of [parallel]) {
  if (r.errors > 0 || r.non2xx > 0)
    throw new Error(`benchmark had ${r.errors} errors and ${r.non2xx} non-2xx answers`);
}

const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mib = (b) => f(b / 2 ** 20, 0);
const row = (label, r) =>
  `| ${label} | ${f(r.requests.average)} | ${f(r.latency.p50, 2)} ms | ${f(r.latency.p99, 2)} ms | ${f(r.latency.max, 1)} ms |`;
const section = `## Webhook

Measured by \`bench/webhook/run.sh\` on Node ${process.versions.node}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), shared with other work (throughput varied by about 25% between runs).
The server runs in its own process (HTTPS with keep-alive, TLS 1.3, ECDSA P-256 certificate, info-level JSON
logs, metrics on); autocannon runs in a second process on the same machine, so both share the CPUs. Each
request is a ${f(Buffer.byteLength(body) / 1024, 1)} KiB \`AdmissionReview\` for a 10-container pod (ports, env, probes, mounts)
answered with a ${patchOps}-operation JSON Patch (Native mode: init container, proxy, volume, annotations, label).

| load | reviews/s | p50 | p99 | max |
|---|---|---|---|---|
| 1 connection, 5,000 sequential reviews (client timed in µs) | ${f(sequential.perSecond)} | ${f(sequential.p50, 3)} ms | ${f(sequential.p99, 3)} ms | ${f(sequential.max, 1)} ms |
${row('8 connections, autocannon 15 s', parallel)}

autocannon counts latency in whole milliseconds, hence the sequential run timed by a client of its own.

Server RSS: ${mib(idleRss)} MiB idle after start, ${mib(peak)} MiB peak under load, ${mib(rss)} MiB after.

Most of the RSS is the modules the operator process loads anyway (the Kubernetes client, x509, pino,
prom-client): a bare \`node\` that imports what the server imports, and starts nothing, has ${mib(baseline)} MiB.
`;

const doc = join(root, 'docs', 'benchmarks.md');
let text = existsSync(doc)
  ? readFileSync(doc, 'utf8')
  : '# Benchmarks\n\nRecorded results of the scripts under `bench/`.\n';
const re = /## Webhook\n[\s\S]*?(?=\n## |$)/;
text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
writeFileSync(doc, text);
process.stdout.write(section);
