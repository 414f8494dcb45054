import type { Document, Pair, YAMLMap, YAMLSeq } from 'yaml';
import type { Touched } from './patch-document.js';
import { isMap, isSeq, nodeAt, writeFlow, writeItem, writePair } from './yaml.js';

/** Replace `[start, end)` of the text with `text`; an insertion when `start === end`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
  /** How deep the edited collection is: of two insertions at one place, the deeper goes first. */
  depth: number;
}

/** The text being edited, by offsets from the start of the stream; `base` is where `text` starts. */
export interface Source {
  text: string;
  base: number;
}

type Node = { range?: [number, number, number] | null };
const rangeOf = (n: unknown): [number, number, number] | undefined => (n as Node | null)?.range ?? undefined;

/**
 * The text edits that turn a document's text into the document `patchDocument` edited, rewriting
 * only what changed: a pair or an item added to a block collection is written as new lines at the
 * collection's indentation, a removed one loses its lines, a flow collection (`{...}`, `[...]`) that
 * changed is written again on its line. Everything else, comments and spacing included, stays as
 * it was. Undefined when the layout is not one this understands (the caller then writes the
 * document out whole).
 */
export function spliceEdits(
  src: Source,
  doc: Document,
  touched: ReadonlyMap<YAMLMap | YAMLSeq, Touched>,
): TextEdit[] | undefined {
  const lines = new Lines(src);
  const edits: TextEdit[] = [];
  for (const [node, was] of touched) {
    const made = was.flow ? flowEdit(lines, doc, node, was) : blockEdits(lines, doc, node, was);
    if (!made) return undefined;
    edits.push(...made);
  }
  return ordered(edits);
}

/**
 * The edits in text order: an insertion before the replacement that starts where it goes, and
 * nothing that lies inside text another edit replaces (that text is written from the edited tree,
 * or removed). Undefined if two replacements overlap.
 */
function ordered(edits: TextEdit[]): TextEdit[] | undefined {
  const replaced = edits.filter((e) => e.end > e.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: TextEdit[] = [];
  for (const e of replaced) {
    const last = kept.at(-1);
    if (last && e.start < last.end) {
      if (e.end <= last.end) continue;
      return undefined;
    }
    kept.push(e);
  }
  const inside = (at: number) => kept.some((r) => at > r.start && at < r.end);
  const inserted = edits.filter((e) => e.end === e.start && !inside(e.start));
  return [...inserted, ...kept].sort(
    (a, b) => a.start - b.start || Number(a.end > a.start) - Number(b.end > b.start) || b.depth - a.depth,
  );
}

/** A flow collection is written again whole; one that became block goes through its holder. */
function flowEdit(lines: Lines, doc: Document, node: YAMLMap | YAMLSeq, was: Touched) {
  const range = rangeOf(node);
  if (!range) return undefined;
  if (node.flow) return [{ start: range[0], end: range[1], text: writeFlow(node), depth: was.tokens.length }];
  return rewriteHolder(lines, doc, node, was.tokens);
}

/**
 * Rewrite the pair or item that holds `node` (itself an edited collection) from the edited tree:
 * for a flow collection that had a block container added into it.
 */
function rewriteHolder(lines: Lines, doc: Document, node: unknown, tokens: string[]) {
  if (tokens.length === 0) return undefined;
  const parent = nodeAt(doc, tokens.slice(0, -1));
  const depth = tokens.length - 1;
  if (isMap(parent) || isSeq(parent)) {
    const range = rangeOf(parent);
    if (!range) return undefined;
    if (parent.flow) return [{ start: range[0], end: range[1], text: writeFlow(parent), depth }];
  }
  if (isMap(parent)) {
    const pair = parent.items.find((p) => p.value === node);
    const extent = pair && lines.pairExtent(pair);
    if (!pair || !extent) return undefined;
    return [{ ...extent, text: writePair(pair.key, pair.value, extent.column), depth }];
  }
  if (isSeq(parent)) {
    const extent = lines.itemExtent(node, parent);
    if (!extent) return undefined;
    return [{ ...extent, text: writeItem(node, extent.column), depth }];
  }
  return undefined;
}

/**
 * A block collection: the lines of each removed (or replaced) entry go, each new entry is written
 * before the next entry that stays, or after the last one.
 */
function blockEdits(lines: Lines, doc: Document, node: YAMLMap | YAMLSeq, was: Touched) {
  const depth = was.tokens.length;
  const isPairMap = isMap(node);
  const before = new Set(was.items);
  const after = new Set<unknown>(node.items);
  /** Still there, with the same value. */
  const kept = (item: unknown): boolean =>
    before.has(item) &&
    after.has(item) &&
    (!isPairMap || (item as Pair).value === was.values.get(item as Pair));
  const extentOf = (item: unknown) =>
    isPairMap ? lines.pairExtent(item as Pair) : lines.itemExtent(item, node);
  // An emptied collection is `{}` or `[]` on its key's line.
  if (node.items.length === 0) return rewriteHolder(lines, doc, node, was.tokens);
  const extents = new Map<unknown, { start: number; end: number; column: number }>();
  for (const item of was.items) {
    const extent = extentOf(item);
    if (!extent) return rewriteHolder(lines, doc, node, was.tokens);
    extents.set(item, extent);
  }
  const column = extents.get(was.items[0])?.column;
  if (column === undefined) return undefined;
  const edits: TextEdit[] = [];
  for (const item of was.items) {
    if (!kept(item)) edits.push({ ...extents.get(item)!, text: '', depth });
  }
  const final: unknown[] = node.items;
  let pending = '';
  const flushBefore = (at: number) => {
    if (pending) edits.push({ start: at, end: at, text: pending, depth });
    pending = '';
  };
  for (const item of final) {
    if (kept(item)) {
      flushBefore(lines.leadStart(extents.get(item)!.start, previousEnd(was.items, item, extents)));
      continue;
    }
    pending += isPairMap
      ? writePair((item as Pair).key, (item as Pair).value, column)
      : writeItem(item, column);
  }
  if (pending) {
    const last = [...final].reverse().find(kept);
    const at = last === undefined ? extents.get(was.items[0])!.start : extents.get(last)!.end;
    if (at > 0 && lines.charAt(at - 1) !== '\n') pending = `\n${pending}`;
    flushBefore(at);
  }
  return edits;
}

function previousEnd(items: unknown[], item: unknown, extents: Map<unknown, { end: number }>): number {
  const i = items.indexOf(item);
  return i > 0 ? extents.get(items[i - 1])!.end : -1;
}

/** Line arithmetic over the source text, by stream offsets. */
class Lines {
  constructor(private readonly src: Source) {}

  charAt(at: number): string {
    return this.src.text[at - this.src.base] ?? '';
  }

  lineStart(at: number): number {
    if (at <= this.src.base) return this.src.base;
    return this.src.text.lastIndexOf('\n', at - this.src.base - 1) + 1 + this.src.base;
  }

  /** The offset just past the end of the line `at` is on (`at` itself when a line starts there). */
  lineEnd(at: number): number {
    if (at > this.src.base && this.charAt(at - 1) === '\n') return at;
    const nl = this.src.text.indexOf('\n', at - this.src.base);
    return nl < 0 ? this.src.base + this.src.text.length : nl + 1 + this.src.base;
  }

  /** Whether only spaces stand between the line's start and `at`. */
  startsLine(at: number): boolean {
    const from = this.lineStart(at) - this.src.base;
    return /^ *$/.test(this.src.text.slice(from, at - this.src.base));
  }

  /**
   * Where the comment lines (and blank lines) right above the line at `start` begin: new entries
   * go above them, so that a comment stays with the entry it was written over. Never before
   * `floor` (the end of the entry before), and never across a line with content.
   */
  leadStart(start: number, floor: number): number {
    let at = start;
    floor = Math.max(floor, this.src.base);
    while (at > floor) {
      const prev = this.lineStart(at - 1);
      if (prev < floor) break;
      const line = this.src.text.slice(prev - this.src.base, at - this.src.base).trim();
      if (line !== '' && !line.startsWith('#')) break;
      at = prev;
    }
    return at;
  }

  /** The lines of a block map's pair: from its key's line to the end of its value's. */
  pairExtent(pair: Pair): { start: number; end: number; column: number } | undefined {
    const key = rangeOf(pair.key);
    if (!key || !this.startsLine(key[0])) return undefined;
    const value = rangeOf(pair.value);
    if (pair.value !== null && pair.value !== undefined && !value) return undefined;
    const start = this.lineStart(key[0]);
    return { start, end: this.lineEnd(Math.max(key[2], value?.[2] ?? 0)), column: key[0] - start };
  }

  /** The lines of a block sequence's item: from its dash's line to the end of the item's. */
  itemExtent(item: unknown, seq: YAMLSeq): { start: number; end: number; column: number } | undefined {
    const range = rangeOf(item);
    const seqRange = rangeOf(seq);
    if (!range || !seqRange) return undefined;
    let dash = range[0] - 1;
    while (dash >= seqRange[0] && /[ \n]/.test(this.charAt(dash))) dash--;
    if (this.charAt(dash) !== '-' || !this.startsLine(dash)) return undefined;
    const start = this.lineStart(dash);
    return { start, end: this.lineEnd(range[2]), column: dash - start };
  }
}
