// An outside check of `sidecar-operator inject`: runs the built CLI over the manifests of Istio's
// own injection tests (pkg/kube/inject/testdata/inject/*.yaml in istio/istio: the inputs, not the
// `.injected` outputs nor the `.iop.yaml` install configurations), read straight from a clone's git
// directory into a temporary directory; nothing of it is copied into this repository.
//
//   npm run build && node hack/istio-corpus.ts <istio git dir> [ref, default HEAD] [--verbose]
//     [--cli=<main.js of another build, to compare>]
//
// Runs twice: with a plain policy, and with one that sets compatibility.istio (and allows every
// override), under which Istio's `*-bad-*` inputs must be refused and what Istio skips be skipped.
//
// Prints, for the whole corpus: files, documents and objects; runs that exited non-zero (refused
// with a message, or crashed); objects injected, skipped (by reason) and passed through (by why);
// files whose output injects to itself byte for byte; files whose values, read back as YAML 1.1
// (as kubectl reads them), equal the input's once our additions are taken out. Then `--uninject`
// over Istio's outputs (`.injected`): how many come back to their inputs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const cliFlag = process.argv.find((a) => a.startsWith('--cli='));
const main = cliFlag ? cliFlag.slice('--cli='.length) : join(root, 'dist', 'cli', 'main.js');
const CORPUS = 'pkg/kube/inject/testdata/inject';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const verbose = process.argv.includes('--verbose');
const [gitDir, ref = 'HEAD'] = args;
if (!gitDir) {
  process.stderr.write('usage: node hack/istio-corpus.ts <istio git dir> [ref] [--verbose]\n');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'istio-corpus-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const commit = execFileSync('git', ['--git-dir', gitDir, 'rev-parse', ref], { encoding: 'utf8' }).trim();
const tar = execFileSync('git', ['--git-dir', gitDir, 'archive', commit, CORPUS], { maxBuffer: 1 << 28 });
execFileSync('tar', ['-x', '-C', work], { input: tar });
const dir = join(work, CORPUS);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.iop.yaml'))
  .sort();

const policyFile = join(work, 'policy.yaml');
writeFileSync(
  policyFile,
  'apiVersion: sidecar.dev/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: corpus}\n' +
    'spec:\n  selector: {namespaces: [default]}\n',
);
const compatFile = join(work, 'compat.yaml');
writeFileSync(
  compatFile,
  'apiVersion: sidecar.dev/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: corpus-istio}\n' +
    'spec:\n  selector: {namespaces: [default]}\n  compatibility: {istio: true}\n' +
    '  injection:\n    allowedOverrides: [includeOutboundIPRanges, excludeOutboundIPRanges, ' +
    'includeInboundPorts, excludeInboundPorts, excludeOutboundPorts, interceptionMode, proxyCPU, ' +
    'proxyMemory, proxyCPULimit, proxyMemoryLimit]\n',
);

function inject(
  input: string,
  flags = ['--policy', policyFile],
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, 'inject', '-f', '-', ...flags], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const read11 = (text: string): unknown[] =>
  parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as unknown);

/** Objects of a manifest, List items in their place. */
function objects(docs: unknown[]): unknown[] {
  return docs.flatMap((d): unknown[] =>
    isObj(d) && typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items)
      ? (d.items as unknown[])
      : [d],
  );
}

const STATUS = 'sidecar.dev/status';
const OUR_MARKS = ['sidecar.dev/revision', 'kubectl.kubernetes.io/default-container'];

/** Pods and pod templates of an object, wherever they are. */
function pods(o: unknown): Obj[] {
  if (!isObj(o)) return [];
  if (o.kind === 'Pod') return [o];
  const spec = isObj(o.spec) ? o.spec : {};
  const job = isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec) ? spec.jobTemplate.spec : {};
  return [job.template, spec.template].filter(isObj);
}

const field = (o: Obj | undefined, key: string): Obj | undefined => (isObj(o?.[key]) ? o[key] : undefined);
const statusOf = (pod: Obj | undefined): unknown => field(field(pod, 'metadata'), 'annotations')?.[STATUS];

/** An emptied list or map goes back to what the input had there: absent, null or empty. */
function restore(into: Obj, key: string, from: Obj | undefined): void {
  const v = into[key];
  const empty = (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
  if (!empty) return;
  if (from !== undefined && key in from) into[key] = from[key];
  else delete into[key];
}

/** A pod (template) we injected, with what we added taken out, compared against the input's. */
function uninject(pod: Obj, input: Obj | undefined): void {
  const status = JSON.parse(statusOf(pod) as string) as Record<
    'initContainers' | 'containers' | 'volumes',
    string[]
  >;
  const spec = field(pod, 'spec')!;
  for (const list of ['initContainers', 'containers', 'volumes'] as const) {
    if (!Array.isArray(spec[list])) continue;
    spec[list] = (spec[list] as Obj[]).filter((c) => !status[list].includes(c.name as string));
    restore(spec, list, field(input, 'spec'));
  }
  const meta = field(pod, 'metadata')!;
  const inputMeta = field(input, 'metadata');
  delete field(meta, 'annotations')![STATUS];
  for (const m of ['annotations', 'labels']) {
    const map = field(meta, m);
    for (const k of OUR_MARKS) if (map && !(k in (field(inputMeta, m) ?? {}))) delete map[k];
    restore(meta, m, inputMeta);
  }
  if (Object.keys(meta).length === 0 && inputMeta === undefined) delete pod.metadata;
}

/** The output object with what we added taken out, so that it can be compared with the input. */
function withoutOurs(out: unknown, input: unknown): unknown {
  const copy = structuredClone(out);
  const before = pods(input);
  pods(copy).forEach((pod, i) => {
    if (typeof statusOf(pod) === 'string' && statusOf(before[i]) === undefined) uninject(pod, before[i]);
  });
  return copy;
}

const figures = {
  files: files.length,
  documents: 0,
  objects: 0,
  exitedNonZero: 0,
  crashed: 0,
  injected: 0,
  skipped: {} as Record<string, number>,
  passedThrough: {} as Record<string, number>,
  filesInjected: 0,
  filesIdenticalOnReinjection: 0,
  filesValuesEqual: 0,
};
const problems: string[] = [];
const count = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

for (const f of files) {
  const input = readFileSync(join(dir, f), 'utf8');
  const docs = read11(input);
  figures.documents += docs.length;
  const r = inject(input);
  if (r.code !== 0) {
    figures.exitedNonZero++;
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    const refused = last.startsWith('sidecar-operator: inject: ');
    if (!refused) figures.crashed++;
    problems.push(`${f}: exit ${r.code}${refused ? '' : ' (crash)'}: ${last}`);
    continue;
  }
  const outDocs = read11(r.stdout);
  const before = objects(docs);
  const after = objects(outDocs);
  figures.objects += before.filter((o) => o !== null).length;
  let injectedHere = 0;
  after.forEach((o, i) => {
    const was = pods(before[i]).some(
      (p) => isObj(p.metadata) && isObj(p.metadata.annotations) && STATUS in p.metadata.annotations,
    );
    const now = pods(o).some(
      (p) => isObj(p.metadata) && isObj(p.metadata.annotations) && STATUS in p.metadata.annotations,
    );
    if (now && !was) injectedHere++;
  });
  figures.injected += injectedHere;
  if (injectedHere > 0) figures.filesInjected++;
  for (const line of r.stderr.split('\n').filter(Boolean)) {
    const skipped = / not injected: (\w+):/.exec(line);
    const through = / passed through: (.*)$/.exec(line);
    if (skipped) count(figures.skipped, skipped[1]!);
    else if (through) count(figures.passedThrough, through[1]!);
    else if (verbose) process.stdout.write(`${f}: ${line}\n`);
  }
  const again = inject(r.stdout);
  if (again.code === 0 && again.stdout === r.stdout) figures.filesIdenticalOnReinjection++;
  else problems.push(`${f}: re-injection changed the output`);
  const equal =
    outDocs.length === docs.length &&
    after.length === before.length &&
    after.every((o, i) => isDeepStrictEqual(withoutOurs(o, before[i]), before[i]));
  if (equal) figures.filesValuesEqual++;
  else problems.push(`${f}: values read back as YAML 1.1 differ from the input`);
}

// --uninject over Istio's own outputs (`<case>.yaml.injected`): do they come back to the inputs?
// kube-inject writes what Go serialises (`resources: {}`, `strategy: {}`, `creationTimestamp:
// null`, zero values, `status`) and Istio adds labels and annotations we keep on purpose
// (canonical-service labels, default-container annotations): those are set aside before comparing.
const KEPT = /^(service\.istio\.io\/canonical-|kubectl\.kubernetes\.io\/default-)/;
function normalise(v: unknown, input: unknown): unknown {
  if (Array.isArray(v)) return v.map((x, i) => normalise(x, Array.isArray(input) ? input[i] : undefined));
  if (!isObj(v)) return v;
  const inp = isObj(input) ? input : {};
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if ((KEPT.test(k) || k === 'status') && !(k in inp)) continue;
    const n = normalise(x, inp[k]);
    const empty = n === null || n === false || n === 0 || (isObj(n) && Object.keys(n).length === 0);
    if (!empty || k in inp) out[k] = n;
  }
  // `creationTimestamp: null` or `paused: false` in, nothing out: the same to the API server.
  for (const [k, x] of Object.entries(inp))
    if ((x === null || x === false || x === 0) && !(k in out)) out[k] = x;
  return out;
}

/** Where two values first differ, for --verbose. */
function firstDifference(a: unknown, b: unknown, path: string): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (const [i, x] of a.entries()) {
      const d = firstDifference(x, b[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  return `${path || '(root)'}: got ${JSON.stringify(a)?.slice(0, 300)}, input had ${JSON.stringify(b)?.slice(0, 300)}`;
}

/**
 * The input with probe and hook ports written by name resolved to numbers, as Istio records them
 * when it rewrites probes (so `port: http` comes back as `port: 80`, which the kubelet reads alike).
 */
function resolveNamedPorts(o: unknown): unknown {
  const copy = structuredClone(o);
  for (const pod of pods(copy)) {
    const spec = isObj(pod.spec) ? pod.spec : {};
    const lists = [spec.containers, spec.initContainers].filter(Array.isArray) as unknown[][];
    for (const c of lists.flat().filter(isObj)) resolveContainerPorts(c);
  }
  return copy;
}

function resolveContainerPorts(c: Obj): void {
  const ports = (Array.isArray(c.ports) ? (c.ports as unknown[]) : []).filter(isObj);
  const byName = new Map(ports.map((p) => [p.name, p.containerPort]));
  const hooks = isObj(c.lifecycle) ? [c.lifecycle.postStart, c.lifecycle.preStop] : [];
  const handlers = [c.livenessProbe, c.readinessProbe, c.startupProbe, ...hooks]
    .filter(isObj)
    .flatMap((h) => [h.httpGet, h.tcpSocket, h.grpc].filter(isObj));
  for (const handler of handlers) {
    if (typeof handler.port === 'string' && byName.has(handler.port)) handler.port = byName.get(handler.port);
  }
}

const uninjected = {
  files: 0,
  exitedNonZero: 0,
  objectsWithSidecarRemoved: 0,
  filesBackToInput: 0,
  filesBackToInputUpToNamedPorts: 0,
};
for (const f of files) {
  let output: string;
  try {
    output = readFileSync(join(dir, `${f}.injected`), 'utf8');
  } catch {
    continue;
  }
  uninjected.files++;
  const r = inject(output, ['--uninject']);
  if (r.code !== 0) {
    uninjected.exitedNonZero++;
    problems.push(`${f}.injected: --uninject exit ${r.code}: ${r.stderr.trim().split('\n')[0]}`);
    continue;
  }
  uninjected.objectsWithSidecarRemoved += r.stderr.split('\n').filter((l) => / removed /.test(l)).length;
  const before = objects(read11(readFileSync(join(dir, f), 'utf8'))).filter((o) => o !== null);
  const after = objects(read11(r.stdout)).filter((o) => o !== null);
  const back =
    after.length === before.length &&
    after.every((o, i) => isDeepStrictEqual(normalise(o, before[i]), before[i]));
  const backUpToPorts =
    back ||
    (after.length === before.length &&
      after.every((o, i) => {
        const was = resolveNamedPorts(before[i]);
        return isDeepStrictEqual(normalise(o, was), was);
      }));
  if (back) uninjected.filesBackToInput++;
  if (backUpToPorts) uninjected.filesBackToInputUpToNamedPorts++;
  if (!backUpToPorts) {
    const was = before.map(resolveNamedPorts);
    const i = after.findIndex((o, j) => !isDeepStrictEqual(normalise(o, was[j]), was[j]));
    const where =
      i < 0
        ? `${after.length} objects, input had ${before.length}`
        : firstDifference(normalise(after[i], was[i]), was[i], '');
    problems.push(`${f}.injected: --uninject does not give back ${f} (named ports aside): ${where}`);
  }
}

// With compatibility.istio: which files are refused, which objects skipped, and whether each
// object's traffic is captured exactly where Istio's own output (`.injected`, when there is one)
// captures it (istio-init, or istio-validation under Istio's CNI: a proxy alone, as in proxyless
// gRPC's agent, captures nothing). An input without an output is one Istio's test expects to fail.
const hasContainer = (o: unknown, names: string[]): boolean =>
  pods(o).some(
    (p) =>
      isObj(p.spec) &&
      [p.spec.containers, p.spec.initContainers]
        .filter(Array.isArray)
        .some((l) => (l as unknown[]).some((c) => isObj(c) && names.includes(c.name as string))),
  );
const istioCaptures = (o: unknown): boolean => hasContainer(o, ['istio-init', 'istio-validation']);
const hasOurs = (o: unknown): boolean => pods(o).some((p) => typeof statusOf(p) === 'string');
const compat = {
  refused: [] as string[],
  istioFailsToo: 0,
  exitedNonZeroOtherwise: 0,
  injected: 0,
  skipped: {} as Record<string, number>,
  objectsComparedWithIstio: 0,
  agreeCaptured: 0,
  agreeNotCaptured: 0,
  disagree: [] as string[],
};
const withIstioOutput = new Set(
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml.injected'))
    .map((f) => f.slice(0, -'.injected'.length)),
);
for (const f of files) {
  const input = readFileSync(join(dir, f), 'utf8');
  const r = inject(input, ['--policy', compatFile]);
  if (r.code !== 0) {
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    if (last.includes('the webhook would refuse')) {
      compat.refused.push(f);
      if (!withIstioOutput.has(f)) compat.istioFailsToo++;
    } else {
      compat.exitedNonZeroOtherwise++;
      problems.push(`compatibility: ${f}: exit ${r.code}: ${last}`);
    }
    continue;
  }
  for (const line of r.stderr.split('\n')) {
    const skipped = / not injected: (\w+):/.exec(line);
    if (skipped) count(compat.skipped, skipped[1]!);
  }
  const before = objects(read11(input));
  const after = objects(read11(r.stdout));
  compat.injected += after.filter((o, i) => hasOurs(o) && !hasOurs(before[i])).length;
  if (!withIstioOutput.has(f)) continue;
  const istio = objects(read11(readFileSync(join(dir, `${f}.injected`), 'utf8')));
  after.forEach((o, i) => {
    if (pods(before[i]).length === 0 || hasContainer(before[i], ['istio-proxy'])) return;
    compat.objectsComparedWithIstio++;
    const ours = hasOurs(o) && !hasOurs(before[i]);
    const theirs = istioCaptures(istio[i]);
    if (ours && theirs) compat.agreeCaptured++;
    else if (!ours && !theirs) compat.agreeNotCaptured++;
    else
      compat.disagree.push(
        `${f} object ${i}: ${ours ? 'we capture, Istio does not' : 'Istio captures, we do not'}`,
      );
  });
}

process.stdout.write(`istio/istio ${commit} ${CORPUS}/*.yaml (not .iop.yaml, not .injected)\n`);
process.stdout.write(
  `${JSON.stringify({ ...figures, uninject: uninjected, compatibility: compat }, null, 2)}\n`,
);
for (const p of problems) process.stdout.write(`${p}\n`);
