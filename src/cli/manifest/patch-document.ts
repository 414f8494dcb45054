import type { Document, YAMLMap, YAMLSeq } from 'yaml';
import { pointerTokens, type PatchOperation } from '../../inject/index.js';
import { createNode, isMap, isScalar, isSeq, nodeAt, Pair } from './yaml.js';

const PLACE_BEFORE: Readonly<Record<string, string>> = {
  initContainers: 'containers',
  metadata: 'spec',
  labels: 'annotations',
};

/**
 * A collection as it was read, before the patch edited it: what `spliceEdits` compares the edited
 * collection with to find the text that changes.
 */
export interface Touched {
  /** The JSON Pointer tokens of the collection, from the document's root. */
  tokens: string[];
  items: unknown[];
  /** For a map: each pair's value as read (an `add` onto a present key replaces the value). */
  values: Map<Pair, unknown>;
  flow: boolean;
}

/**
 * Apply RFC 6902 operations (add, remove, replace) to a parsed document in place, so that what the
 * patch does not touch keeps its comments, key order and scalar styles. Returns false, with the
 * document possibly half-edited, when an operation's parent is not written out in the document (an
 * alias, a merge key) or does not exist: the caller then writes the value out whole. `touched`
 * receives each collection the operations edit, as it was before the first edit.
 */
export function patchDocument(
  doc: Document,
  ops: readonly PatchOperation[],
  touched = new Map<YAMLMap | YAMLSeq, Touched>(),
): boolean {
  return ops.every((op) => applyOp(doc, op, touched));
}

function applyOp(doc: Document, op: PatchOperation, touched: Map<YAMLMap | YAMLSeq, Touched>): boolean {
  const tokens = pointerTokens(op.path);
  const last = tokens.pop();
  if (last === undefined) return false;
  const parent = nodeAt(doc, tokens);
  if ((isMap(parent) || isSeq(parent)) && !touched.has(parent)) {
    const values = new Map<Pair, unknown>();
    if (isMap(parent)) for (const p of parent.items) values.set(p, p.value);
    touched.set(parent, { tokens, items: [...parent.items], values, flow: parent.flow === true });
  }
  const value = op.op === 'remove' ? undefined : createNode(doc, op.value);
  if (isMap(parent)) return applyToMap(doc, parent, last, op.op, value);
  if (isSeq(parent)) return applyToSeq(parent, last, op.op, value);
  return false;
}

function applyToMap(
  doc: Document,
  map: YAMLMap,
  key: string,
  op: PatchOperation['op'],
  value: unknown,
): boolean {
  const pair = map.items.find((p) => scalarIs(p.key, key));
  if (op === 'remove') {
    if (!pair) return false;
    map.items.splice(map.items.indexOf(pair), 1);
    return true;
  }
  if (pair) {
    pair.value = value;
    return true;
  }
  if (op === 'replace') return false;
  // Where a reader expects it: init containers before containers, a template's metadata before its spec.
  const before = map.items.findIndex((p) => scalarIs(p.key, PLACE_BEFORE[key] ?? ''));
  const added = new Pair(createNode(doc, key), value);
  if (before < 0) {
    map.items.push(added);
    return true;
  }
  const first = map.items[0]?.key;
  if (before === 0 && map.commentBefore && isScalar(first)) {
    // The map's leading comment was about its first key: keep it there.
    first.commentBefore = map.commentBefore;
    map.commentBefore = undefined;
  }
  map.items.splice(before, 0, added);
  return true;
}

function applyToSeq(seq: YAMLSeq, token: string, op: PatchOperation['op'], value: unknown): boolean {
  const size = seq.items.length;
  const index = token === '-' ? size : /^\d+$/.test(token) ? Number(token) : -1;
  if (index < 0 || index > size || (op !== 'add' && index === size)) return false;
  if (op === 'remove') seq.items.splice(index, 1);
  else if (op === 'replace') seq.items[index] = value;
  else {
    seq.items.splice(index, 0, value);
    // A container or volume inside `[...]` would make one very long line.
    if (seq.flow && (isMap(value) || isSeq(value))) seq.flow = false;
  }
  return true;
}

function scalarIs(key: unknown, token: string): boolean {
  return key === token || (isScalar(key) && key.value === token);
}
