// The import graph of src/, checked: no cycle between files, and no import that runs up the layers.
//
//   node hack/check-imports.ts          exit 1 naming each cycle and each upward import
//
// Layers, bottom to top (a folder may import its own layer and those below):
//   api → pure core (inject, iptables, render, status, certs but its Secret store) → kube and the
//   Secret store → controllers, webhook, doctor → operator → dev/envtest → dev/demo → cli.
// Inside src/controllers, the policy controller assembles the others; none of them imports it.
// src/dev is not in the operator's image: a file outside it may reach it only through `import()`
// (the demo command loads it when it is there) or `import type` (erased).
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
  ['dev/envtest'],
  ['dev/demo'],
  ['cli'],
];

/** The layer unit of a file: its top folder, or certs/store for the Secret store. */
export function unitOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  if (rel[0] === 'certs' && rel[1]?.startsWith('store')) return 'certs/store';
  if (rel[0] === 'dev') return `dev/${rel[1] ?? ''}`;
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

interface Import {
  to: string;
  /** Loaded when the program runs and reaches it (`import()`), or erased (`import type`). */
  lazy: boolean;
}

/** Relative imports of a file (static, `export … from`, `import()` with a literal), resolved to files. */
function importsOf(file: string): Import[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Import[] = [];
  const add = (spec: ts.Expression | undefined, lazy: boolean): void => {
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) return;
    out.push({ to: resolve(dirname(file), spec.text.replace(/\.js$/, '.ts')), lazy });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) add(n.moduleSpecifier, n.importClause?.isTypeOnly === true);
    else if (ts.isExportDeclaration(n)) add(n.moduleSpecifier, n.isTypeOnly);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(n.arguments[0], true);
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
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
export function upward(from: string, to: string, lazy = false): string | undefined {
  const a = unitOf(from);
  const b = unitOf(to);
  if (b.startsWith('dev/') && !a.startsWith('dev/') && !lazy)
    return `${a} imports ${b} statically (src/dev is not in the image: use import())`;
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
  const imports = new Map(files.map((f) => [f, importsOf(f)]));
  const graph = new Map([...imports].map(([f, is]) => [f, is.map((i) => i.to)]));
  const problems: string[] = [];
  for (const scc of cycles(graph)) problems.push(`cycle: ${scc.map((f) => relative(ROOT, f)).join(' → ')}`);
  for (const [from, is] of imports) {
    for (const { to, lazy } of is) {
      if (!to.startsWith(SRC + '/')) continue;
      const why = upward(from, to, lazy);
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
