// Run by bench/workers/run.sh: one webhook process against node:cluster workers sharing its port
// (the way a replica would use more than one core), interleaved round by round, autocannon in this
// process. Args: <cert.pem> <key.pem>. Env: ROUNDS (5), DURATION (10), WORKERS (2),
// BENCH_WRITE=false (print only; else the "Cores" section of docs/benchmarks.md).
import { fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers/promises';
import autocannon from 'autocannon';
import { spread } from '../lib/process.js';
import { review, tenContainerPod } from '../lib/reviews.js';

const root = join(import.meta.dirname, '..', '..');
const [certFile, keyFile] = process.argv.slice(2);
const ca = readFileSync(certFile, 'utf8');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const DURATION = Number(process.env.DURATION ?? 10);
const WORKERS = Number(process.env.WORKERS ?? 2);
const body = review(tenContainerPod());

async function start(name) {
  const child =
    name === 'one process'
      ? fork(join(root, 'bench', 'webhook', 'server.js'), [certFile, keyFile], {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
      : fork(join(import.meta.dirname, 'primary.js'), [certFile, keyFile, String(WORKERS)], {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const ask = (msg) => new Promise((resolve) => (child.once('message', resolve), child.send(msg)));
  return { child, url: `https://127.0.0.1:${port}/inject/mesh`, ask };
}

const load = (url, connections, duration) =>
  autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
    tlsOptions: { ca },
  });

const NAMES = ['one process', `${WORKERS} cluster workers`];
const results = Object.fromEntries(NAMES.map((n) => [n, { reviews: [], p99: [], rss: [] }]));
const servers = {};
for (const n of NAMES) {
  servers[n] = await start(n);
  await load(servers[n].url, 4, 3); // warm-up: JIT, TLS sessions
}
for (let round = 0; round < ROUNDS; round++) {
  for (const n of round % 2 === 0 ? NAMES : [...NAMES].reverse()) {
    const r = await load(servers[n].url, 8, DURATION);
    if (r.errors > 0 || r.non2xx > 0)
      throw new Error(`${n}: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
    results[n].reviews.push(r.requests.average);
    results[n].p99.push(r.latency.p99);
    await setTimeout(1000);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}
for (const n of NAMES) {
  results[n].rss.push((await servers[n].ask('rss')).rss / 2 ** 20);
  servers[n].child.send('stop');
}

const f = (d) => (x) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ratios = results[NAMES[1]].reviews.map((x, i) => x / results[NAMES[0]].reviews[i]);
const section = `## Cores

Does a replica gain from serving admissions on more than one core? Measured by \`make bench-workers\`
(\`bench/workers/run.sh\`): the webhook server of \`bench/webhook\` as one process against ${WORKERS} \`node:cluster\` workers
sharing its port (the primary hands connections round-robin), ${ROUNDS} rounds interleaved, autocannon (8
connections, ${DURATION} s, the 10-container pod) in a third process, on ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), shared with other
work. Median (min–max).

| | reviews/s | p99 (ms) | RSS after the runs (MiB) |
|---|---|---|---|
${NAMES.map((n) => `| ${n} | ${spread(results[n].reviews, f(0))} | ${spread(results[n].p99, f(0))} | ${spread(results[n].rss, f(0))} |`).join('\n')}

${NAMES[1]} against one process, per round: ${spread(ratios, (x) => `${f(2)(x)}×`)} the reviews per second.
`;
process.stdout.write(section);
if (process.env.BENCH_WRITE !== 'false') {
  const doc = join(root, 'docs', 'benchmarks.md');
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  const re = /## Cores\n[\s\S]*?(?=\n## |$)/;
  text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(doc, text);
}
