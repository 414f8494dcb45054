// The import graph of src/, checked: no cycle between files, and no import that runs up the layers.
//
//   node hack/check-imports.ts          exit 1 naming each cycle and each upward import
//
// Layers, bottom to top (a folder may import its own layer and those below):
//   api → pure core (inject, iptables, render, status, certs but its Secret store) → kube and the
//   Secret store → controllers, webhook, doctor → operator → envtest → demo → cli.
// Inside src/controllers, the policy controller assembles the others; none of them imports it.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

const LAYERS: readonly (readonly string[])[] = [
  ['api'],
  ['inject', 'iptables', 'render', 'status', 'certs'],
  ['kube', 'certs/store'],
  ['controllers', 'webhook', 'doctor'],
  ['operator'],
  ['envtest'],
  ['demo'],
  ['cli'],
];

/** The layer unit of a file: its top folder, or certs/store for the Secret store. */
export function unitOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  if (rel[0] === 'certs' && rel[1]?.startsWith('store')) return 'certs/store';
  return rel[0] ?? '';
}

export function layerOf(unit: string): number {
  return LAYERS.findIndex((l) => l.includes(unit));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, `export … from`, `import()` with a literal), resolved to files. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** Why `from` may not import `to`, or undefined when it may. */
export function upward(from: string, to: string): string | undefined {
  const a = unitOf(from);
  const b = unitOf(to);
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la < 0) return `${a} is in no layer (add it to LAYERS in hack/check-imports.ts)`;
  if (lb > la) return `${a} (layer ${la}) imports ${b} (layer ${lb})`;
  const concern = (f: string) => relative(join(SRC, 'controllers'), f).split('/');
  if (a === 'controllers' && b === 'controllers') {
    const [ca] = concern(from);
    const [cb] = concern(to);
    if (cb === 'policy' && ca !== 'policy') return `controllers/${ca} imports the policy controller`;
  }
  return undefined;
}

export function check(): string[] {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const problems: string[] = [];
  for (const scc of cycles(graph)) problems.push(`cycle: ${scc.map((f) => relative(ROOT, f)).join(' → ')}`);
  for (const [from, tos] of graph) {
    for (const to of tos) {
      if (!to.startsWith(SRC + '/')) continue;
      const why = upward(from, to);
      if (why) problems.push(`upward import: ${relative(ROOT, from)} → ${relative(ROOT, to)}: ${why}`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const problems = check();
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log('imports: no cycle, none upward');
}
