import {
  Composer,
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Pair,
  parseAllDocuments,
  Parser,
  Scalar,
  visit,
  YAMLMap,
  YAMLSeq,
  type DocumentOptions,
  type Node,
  type ParseOptions,
  type SchemaOptions,
  type ScalarTag,
  type ToStringOptions,
} from 'yaml';

/**
 * YAML as kubectl and the API server read it: version 1.1 scalars (sigs.k8s.io/yaml), where
 * unquoted `yes`/`on`/`y` are booleans and `0644` is octal (420), but `1:20` is a string. The
 * `yaml` library writes 1.2 by default, which would turn `0644` into `644` and leave the string
 * `"yes"` unquoted; everything here reads and writes 1.1.
 */

/** Source text of a plain scalar that is not a string (`0644`, `yes`, `0x1F`, `1_000`), kept verbatim. */
class SourceText {
  constructor(readonly text: string) {}
}

/** Writes a SourceText as it was read; never chosen when parsing (no `test`). */
const sourceTextTag: ScalarTag = {
  tag: 'tag:sidecar.dev,2026:source-text',
  default: true,
  identify: (v) => v instanceof SourceText,
  resolve: (s) => new SourceText(s),
  stringify: (item) => (item as Scalar<SourceText>).value.text,
};

export const READ_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  // sigs.k8s.io/yaml's reader (a go-yaml v2 fork) deliberately has no base-60 numbers: a plain
  // `1:20` is the string "1:20" to kubectl, so it is here too.
  customTags: (tags) => [
    ...tags.filter((t) => typeof t === 'string' || !('format' in t) || t.format !== 'TIME'),
    sourceTextTag,
  ],
  prettyErrors: false,
};

const WRITE_OPTIONS: ToStringOptions = {
  lineWidth: 0,
  flowCollectionPadding: false,
};

export function readDocuments(text: string): Document.Parsed[] {
  return parseAllDocuments(text, READ_OPTIONS) as Document.Parsed[];
}

/** An empty document (nothing, or only comments, or an explicit null): kubectl skips it. */
export function isEmptyDocument(doc: Document): boolean {
  const c = doc.contents;
  return c === null || (isScalar(c) && c.value === null);
}

/**
 * Strings that sigs.k8s.io/yaml's reader (Go's number syntax: `0o17`, `0X1F`, `1_0`) may take for
 * a number while the library's 1.1 reader does not; quoting anything that starts like a number is
 * the simple safe rule for what we add.
 */
const NUMBER_LIKE = /^[-+.]?[0-9]/;

/**
 * Nodes made for values we add, by the value's JSON: the same sidecar goes into every pod of a
 * manifest, and making its nodes (and writing them) once instead of once per pod is most of the work
 * saved. Shared between documents, so never edited (`nodeAt` does not go into them).
 */
const made = new Map<string, Node>();
const sharedNodes = new WeakSet<Node>();
const MADE_LIMIT = 256;

/** A node for a value we add: written so that every YAML 1.1 reader reads it back the same. */
export function createNode(doc: Document, value: unknown): Node {
  if (value === null || typeof value !== 'object') return makeNode(doc, value);
  const key = JSON.stringify(value);
  let node = made.get(key);
  if (!node) {
    if (made.size >= MADE_LIMIT) made.clear();
    node = makeNode(doc, value);
    made.set(key, node);
    sharedNodes.add(node);
  }
  return node;
}

function makeNode(doc: Document, value: unknown): Node {
  const node = doc.createNode(value, { aliasDuplicateObjects: false }) as Node;
  visit(node, {
    Scalar(_key, s) {
      if (typeof s.value === 'string' && NUMBER_LIKE.test(s.value)) s.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return node;
}

/** A whole value as YAML 1.1, for a document that cannot be edited in place. */
export function writeValue(value: unknown): string {
  const doc = new Document(null, { ...READ_OPTIONS, aliasDuplicateObjects: false });
  doc.contents = createNode(doc, value);
  return doc.toString(WRITE_OPTIONS);
}

/**
 * The document's contents as YAML 1.1, every scalar that was not edited written as it was read: a
 * plain `0644`, `0x1F` or `yes` keeps its text (the library would normalise it, `0x1F` to `0x1f`,
 * `1_000` to `1000`), quoted strings keep their quotes.
 * Mutates `doc`; call it last.
 */
export function writeContents(doc: Document): string {
  keepSourceText(doc);
  doc.commentBefore = null;
  doc.comment = null;
  if (doc.directives) {
    doc.directives.docStart = null;
    doc.directives.docEnd = false;
  }
  if (doc.contents) {
    doc.contents.commentBefore = undefined;
    doc.contents.spaceBefore = false;
  }
  return doc.toString(WRITE_OPTIONS);
}

/** Plain scalars that are not strings (`0644`, `yes`) written back with the text they were read from. */
function keepSourceText(node: Document | Node): void {
  visit(node, {
    Scalar(_key, s) {
      const plainNonString =
        s.type === Scalar.PLAIN && typeof s.source === 'string' && typeof s.value !== 'string';
      if (plainNonString && s.tag === undefined && s.source !== '') s.value = new SourceText(s.source!);
    },
  });
}

let renderDoc: Document | undefined;
const written = new Map<string, string>();

/** `node` as the lone contents of a YAML 1.1 document, without a trailing newline. */
function render(node: Node): string {
  renderDoc ??= new Document(null, { ...READ_OPTIONS, aliasDuplicateObjects: false });
  renderDoc.contents = node;
  const text = renderDoc.toString(WRITE_OPTIONS);
  renderDoc.contents = null;
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function indent(text: string, column: number): string {
  const pad = ' '.repeat(column);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/** What an edited collection read, or an added value, is written as; shared nodes once each. */
function once(kind: string, node: unknown, write: () => string): string {
  if (!sharedNodes.has(node as Node)) return write();
  const id = `${kind}\0${sharedId(node as Node)}`;
  let text = written.get(id);
  if (text === undefined) {
    if (written.size >= MADE_LIMIT) written.clear();
    text = write();
    written.set(id, text);
  }
  return text;
}

const ids = new WeakMap<Node, number>();
let nextId = 0;
function sharedId(node: Node): number {
  let id = ids.get(node);
  if (id === undefined) ids.set(node, (id = nextId++));
  return id;
}

/** `key: value` as block lines at `column`, ending with a newline; comments on the key are not written. */
export function writePair(key: unknown, value: unknown, column: number): string {
  const keyNode = isScalar(key) ? new Scalar(key.value) : (key as Node);
  if (isScalar(key)) (keyNode as Scalar).type = key.type;
  return once(`p\0${column}\0${String(isScalar(key) ? key.value : key)}`, value, () => {
    if (!sharedNodes.has(value as Node)) keepSourceText(value as Node);
    const map = new YAMLMap();
    map.items.push(new Pair(keyNode, value));
    return `${indent(render(map), column)}\n`;
  });
}

/** `- value` as block lines with the dash at `column`, ending with a newline. */
export function writeItem(value: unknown, column: number): string {
  return once(`i\0${column}`, value, () => {
    if (!sharedNodes.has(value as Node)) keepSourceText(value as Node);
    const seq = new YAMLSeq();
    seq.items.push(value);
    return `${indent(render(seq), column)}\n`;
  });
}

/** A flow collection as it now is, on one line, without the comments around it (they stay in the text). */
export function writeFlow(node: YAMLMap | YAMLSeq): string {
  const { comment, commentBefore, spaceBefore } = node;
  node.comment = undefined;
  node.commentBefore = undefined;
  node.spaceBefore = false;
  keepSourceText(node);
  try {
    return render(node);
  } finally {
    Object.assign(node, { comment, commentBefore, spaceBefore });
  }
}

/**
 * The node at a JSON Pointer's tokens, following only maps and sequences written out in full and
 * used once: undefined past an alias, a merge key or an anchor (editing an anchored node would
 * change its aliases too).
 */
export function nodeAt(doc: Document, tokens: readonly string[]): unknown {
  let node: unknown = doc.contents;
  for (const token of [...tokens, undefined]) {
    if (isAlias(node) || ((isMap(node) || isSeq(node)) && (node.anchor || sharedNodes.has(node))))
      return undefined;
    if (token === undefined) return node;
    if (isMap(node)) {
      if (hasMergeKey(node.items)) return undefined;
      node = node.get(token, true);
    } else if (isSeq(node)) {
      node = /^\d+$/.test(token) ? node.items[Number(token)] : undefined;
    } else return undefined;
  }
  return node;
}

function hasMergeKey(items: readonly Pair[]): boolean {
  return items.some((p) => (isScalar(p.key) ? p.key.value : p.key) === '<<');
}

export { Composer, isMap, isScalar, isSeq, Pair, Parser, YAMLMap, YAMLSeq };
