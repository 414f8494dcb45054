// Run by bench/hostile/run.sh on the project's Node (24) against the built dist/.
//
// Options: --no-write (print only); --dist=<dir> (time another build, e.g. of an older commit),
// --sizes=a,b,c and --only=<shape>,<shape> (both imply --no-write).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { hostileBody, hostileShapes } from '../lib/hostile.js';

const root = join(import.meta.dirname, '..', '..');
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const dist = resolve(arg('dist') ?? join(root, 'dist'));
const SIZES = arg('sizes')?.split(',').map(Number) ?? [10_000, 100_000, 1_000_000];
const ONLY = arg('only')?.split(',');
const write = !process.argv.includes('--no-write') && !arg('dist') && !arg('sizes') && !ONLY;

const { compileTemplate } = await import(join(dist, 'inject', 'index.js'));
// The modules the server calls, not the webhook index (which loads the x509 stack too).
const { admissionEvent } = await import(join(dist, 'webhook', 'admission-events.js'));
const { decodeAdmissionReview, encodeAdmissionReview } = await import(join(dist, 'webhook', 'codec.js'));
const { handleAdmission } = await import(join(dist, 'webhook', 'handler.js'));
/** A slope (log time / log size) above this between 100k and 1M fails the run… */
const MAX_SLOPE = 1.3;
/** …unless the review took less than this at 1M: a few milliseconds are all noise and allocation. */
const FLOOR_MS = 20;

const template = compileTemplate(
  {
    metadata: { name: 'mesh' },
    spec: {
      selector: { namespaces: ['apps'] },
      injection: { allowedOverrides: ['excludeOutboundIPRanges', 'includeInboundPorts', 'proxyCPU'] },
    },
  },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const templates = new Map([['mesh', template]]);
const ctx = { operatorNamespace: 'sidecar-system' };

// The review as these figures were first taken: no userInfo, a fixed namespace.
const review = (pod) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'apps',
      object: pod,
    },
  });
const shapes = hostileShapes(template.revision);

function admit(body) {
  const decoded = decodeAdmissionReview(body);
  if (!decoded.ok) return { answer: '400', reason: decoded.reason };
  const outcome = handleAdmission('mesh', decoded.request, templates, ctx);
  encodeAdmissionReview(outcome.response);
  admissionEvent('mesh', decoded.request, outcome);
  return {
    answer: outcome.response.allowed ? `200 ${outcome.result}` : `200 denied`,
    reason: outcome.reason,
  };
}

function time(body, runs) {
  const samples = [];
  let result;
  for (let i = 0; i < runs; i++) {
    globalThis.gc?.();
    const started = performance.now();
    result = admit(body);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)], ...result };
}

const rows = [];
let worst = 0;
for (const name of Object.keys(shapes).filter((n) => !ONLY || ONLY.includes(n))) {
  const points = SIZES.map((n) => {
    const body = hostileBody(shapes, name, n, review);
    admit(body); // warm-up
    return { n, chars: body.length, ...time(body, n >= 1_000_000 ? 5 : 9) };
  });
  const slope = (a, b) => Math.log(b.ms / a.ms) / Math.log(b.chars / a.chars);
  const [s, m, l] = points;
  const row = { name, points, low: slope(s, m), high: slope(m, l) };
  if (l.ms >= FLOOR_MS) worst = Math.max(worst, row.high);
  rows.push(row);
  process.stderr.write(
    `${name}: ${points.map((p) => `${p.ms.toFixed(2)} ms`).join(' / ')}; slope ${row.low.toFixed(2)}, ${row.high.toFixed(2)}; ${l.answer} ${l.reason.slice(0, 80)}\n`,
  );
}

/** 400 and the path refused, or the result and reason. */
const answer = (p) =>
  p.answer === '400' ? `400 at \`${p.reason.split(': ')[0]}\`` : `${p.answer} (${p.reason})`;
const size = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const [A, B, C] = SIZES.map(size);
const f = (x, d) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const section = `## Hostile reviews

Measured by \`bench/hostile/run.sh\` on Node ${process.versions.node}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), shared with other work.
Each review is handled in process the way the server does after reading the body: decode (JSON
parse and the pod's shape), decide and inject, encode the answer, build the Event. Median of 9 runs
(5 at 1M), a GC before each. The slope is log(time ratio) / log(size ratio) between two sizes:
1 is linear; the run fails above ${MAX_SLOPE} between 100k and 1M where a review takes ${FLOOR_MS} ms or more
at 1M (below that, the figures are allocation noise).

| shape | ${A} | ${B} | ${C} | slope ${A}→${B} | slope ${B}→${C} | µs per 1,000 chars at ${C} | answer at ${C} |
|---|---|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.name} | ${r.points.map((p) => `${f(p.ms, 2)} ms`).join(' | ')} | ${f(r.low, 2)} | ${f(r.high, 2)} | ${f((r.points[2].ms * 1000) / (r.points[2].chars / 1000), 1)} | ${answer(r.points[2])} |`,
  )
  .join('\n')}
`;

const doc = join(root, 'docs', 'benchmarks.md');
let text = existsSync(doc)
  ? readFileSync(doc, 'utf8')
  : '# Benchmarks\n\nRecorded results of the scripts under `bench/`.\n';
const re = /## Hostile reviews\n[\s\S]*?(?=\n## |$)/;
text = re.test(text) ? text.replace(re, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
if (write) writeFileSync(doc, text);
process.stdout.write(section);
if (worst > MAX_SLOPE) {
  process.stderr.write(
    `a slope of ${f(worst, 2)} is above ${MAX_SLOPE}: some shape costs more than linear time\n`,
  );
  process.exit(1);
}
