import type { Document, YAMLMap, YAMLSeq } from 'yaml';
import type { CompiledTemplate, PatchOperation } from '../../inject/index.js';
import {
  injectObject,
  ObjectShapeError,
  uninjectObject,
  type ObjectResult,
  type UninjectedObject,
} from '../../inject/workloads.js';
import { CliError } from '../errors.js';
import { DocumentReader } from './document-reader.js';
import { patchDocument, type Touched } from './patch-document.js';
import { spliceEdits } from './splice.js';
import { isEmptyDocument, writeContents, writeValue } from './yaml.js';

export interface ManifestOptions {
  /** Print JSON Patches instead of the manifest. */
  patch?: boolean;
  /** Remove injections (ours and Istio's) instead of injecting. */
  uninject?: boolean;
  /** Namespace of objects that name none. */
  namespace: string;
  /** The labels of the namespaces the objects go to: the policy's namespace selection is then checked. */
  namespaceLabels?: Record<string, string>;
  operatorNamespace: string;
}

/** One injected object, for `--patch`: paths are relative to the object (a List's item, not the List). */
export interface ObjectPatch {
  document: number;
  item?: number;
  kind: unknown;
  name: string | undefined;
  patch: PatchOperation[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeObject(obj: Obj): string {
  const name = isObj(obj.metadata) ? obj.metadata.name : undefined;
  const kind = typeof obj.kind === 'string' ? obj.kind : '(no kind)';
  return `${kind}${typeof name === 'string' ? `/${name}` : ''}`;
}

/** `kind: List` and typed lists (`PodList`, …) as `kubectl get -o yaml` writes them. */
function isList(obj: Obj): obj is Obj & { items: unknown[] } {
  return typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items);
}

interface Walk {
  file: string;
  document: number;
  template: CompiledTemplate | undefined;
  ctx: Parameters<typeof injectObject>[2];
  notes: string[];
  patches: ObjectPatch[];
  uninject: boolean;
  /** Objects whose pod the webhook would refuse, described. */
  refused: string[];
}

/**
 * Inject (or uninject) one object, or each item of a list; returns the new object (the input when nothing
 * changed) and the operations that make it, with paths from the object's root.
 */
function injectValue(w: Walk, obj: Obj, where: string, item?: number): { value: Obj; ops: PatchOperation[] } {
  const label = `${w.file}: ${where} (${describeObject(obj)})`;
  if (isList(obj)) {
    if (obj.items.length === 0) w.notes.push(`${label}: passed through: a list with no items`);
    const ops: PatchOperation[] = [];
    const items = obj.items.map((it, j) => {
      const at = `${where} item ${j}`;
      if (!isObj(it)) throw new CliError(`inject: ${w.file}: ${at}: not a Kubernetes object`);
      const done = injectValue(w, it, at, j);
      ops.push(...done.ops.map((op) => ({ ...op, path: `/items/${j}${op.path}` })));
      return done.value;
    });
    return { value: ops.length > 0 ? { ...obj, items } : obj, ops };
  }
  let changed: { object: Obj; objectPatch: PatchOperation[] };
  try {
    const result = w.uninject ? uninjectOne(w, obj, label) : injectOne(w, obj, label);
    if (!result) return { value: obj, ops: [] };
    changed = result;
  } catch (err) {
    if (err instanceof ObjectShapeError)
      throw new CliError(`inject: ${w.file}: ${where}: ${describeObject(obj)}: ${err.message}`);
    throw err;
  }
  const name = isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : undefined;
  w.patches.push({ document: w.document, item, kind: obj.kind, name, patch: changed.objectPatch });
  return { value: changed.object, ops: changed.objectPatch };
}

/** The injected object, or undefined when nothing changes; notes say why not. */
function injectOne(w: Walk, obj: Obj, label: string): ObjectResult | undefined {
  if (!w.template) throw new Error('injectManifest: a template is needed unless uninjecting');
  const result = injectObject(obj, w.template, w.ctx);
  if ('noPodTemplate' in result) {
    w.notes.push(`${label}: passed through: ${result.noPodTemplate}`);
    return undefined;
  }
  const { decision } = result;
  if (decision.refuse) {
    w.refused.push(label);
    w.notes.push(`${label}: refused: ${decision.reason}: ${decision.message}`);
  } else if (!decision.inject) {
    const hint = decision.reason === 'AlreadyMeshed' ? ' (--uninject removes it)' : '';
    w.notes.push(`${label}: not injected: ${decision.reason}: ${decision.message}${hint}`);
  }
  for (const warn of result.warnings) w.notes.push(`${label}: ${warn.reason}: ${warn.message}`);
  return result.objectPatch.length > 0 ? result : undefined;
}

/** The object without injections, or undefined when it has none; notes say what went. */
function uninjectOne(w: Walk, obj: Obj, label: string): UninjectedObject | undefined {
  const result = uninjectObject(obj);
  if ('noPodTemplate' in result) {
    w.notes.push(`${label}: passed through: ${result.noPodTemplate}`);
    return undefined;
  }
  if (result.kept) w.notes.push(`${label}: passed through: ${result.kept}`);
  else if (result.removed.length === 0) w.notes.push(`${label}: passed through: no sidecar to remove`);
  else w.notes.push(`${label}: removed ${result.removed.join(' and ')}`);
  return result.objectPatch.length > 0 ? result : undefined;
}

/** Where the output of a `ManifestInjector` goes, as it is made. */
export interface ManifestSink {
  /** Manifest text (or, with `--patch`, JSON), in order. */
  write(text: string): void;
  /** A note on one document or object: why it was not injected, what was removed, … */
  note(text: string): void;
  /** With `--patch`: each changed object's patch; without this, they are written as a JSON array. */
  patch?(patch: ObjectPatch): void;
}

/**
 * Inject the documents of a manifest as its text arrives, one document at a time: what is held is
 * the document being read and the text not yet written, never the whole manifest. The text is
 * copied as written except where a document changes; there, only the lines of what changes are
 * written (comments, key order and scalar styles kept around them), as YAML 1.1. Each document
 * that is not injected gets a note saying why; `refused` lists the objects whose pods the webhook
 * would refuse (the caller then discards what was written).
 */
export class ManifestInjector {
  readonly refused: string[] = [];
  private readonly reader = new DocumentReader();
  private readonly ctx: Parameters<typeof injectObject>[2];
  private readonly notes: string[] = [];
  private readonly patches: ObjectPatch[] = [];
  private index = 0;
  /** Stream offset up to which the text has been written. */
  private copied = 0;
  private patchCount = 0;

  constructor(
    private readonly file: string,
    private readonly template: CompiledTemplate | undefined,
    private readonly options: ManifestOptions,
    private readonly sink: ManifestSink,
  ) {
    this.ctx = {
      defaultNamespace: options.namespace,
      operatorNamespace: options.operatorNamespace,
      reinject: true,
      ...(options.namespaceLabels ? { namespaceLabels: options.namespaceLabels } : {}),
    };
  }

  /** Take the next piece of the text. */
  push(chunk: string): void {
    for (const doc of this.reader.push(chunk)) this.document(doc);
  }

  /** The text has ended: handle the last document and write what remains. */
  end(): void {
    for (const doc of this.reader.end()) this.document(doc);
    if (this.options.patch) {
      if (!this.sink.patch) this.sink.write(this.patchCount === 0 ? '[]\n' : '\n]\n');
    } else this.sink.write(this.reader.text(this.copied));
  }

  private document(doc: Document.Parsed): void {
    const i = this.index++;
    const { file } = this;
    const fail = (what: string): never => {
      throw new CliError(`inject: ${file}: document ${i}: ${what}`);
    };
    if (doc.errors.length > 0) fail(doc.errors[0]!.message.split('\n')[0]!);
    if (isEmptyDocument(doc)) {
      this.sink.note(`${file}: document ${i}: passed through: empty`);
      return;
    }
    const value = doc.toJS({ maxAliasCount: -1 }) as unknown;
    if (!isObj(value)) return fail('not a Kubernetes object');
    this.notes.length = 0;
    this.patches.length = 0;
    const w: Walk = {
      file,
      document: i,
      template: this.template,
      ctx: this.ctx,
      notes: this.notes,
      patches: this.patches,
      refused: this.refused,
      uninject: this.options.uninject === true,
    };
    const { value: injected, ops } = injectValue(w, value, `document ${i}`);
    for (const n of this.notes) this.sink.note(n);
    if (this.sink.patch) for (const p of this.patches) this.sink.patch(p);
    if (this.options.patch) {
      if (!this.sink.patch)
        for (const p of this.patches)
          this.sink.write(
            `${this.patchCount++ === 0 ? '[\n' : ',\n'}${JSON.stringify(p, null, 2).replace(/^/gm, '  ')}`,
          );
      return;
    }
    if (ops.length > 0) this.rewrite(doc, i, value, injected, ops);
    // Everything up to the end of this document is final: write it and let it go.
    const end = Math.max(this.copied, doc.range[2]);
    this.sink.write(this.reader.text(this.copied, end));
    this.copied = end;
    this.reader.release(end);
  }

  /** Write the changed document: its unchanged text as it was, with only what changed rewritten. */
  private rewrite(doc: Document.Parsed, i: number, value: Obj, injected: Obj, ops: PatchOperation[]): void {
    const touched = new Map<YAMLMap | YAMLSeq, Touched>();
    const patched = patchDocument(doc, ops, touched);
    const edits = patched ? spliceEdits(this.reader.source(), doc, touched) : undefined;
    if (edits) {
      for (const e of edits) {
        this.sink.write(this.reader.text(this.copied, e.start) + e.text);
        this.copied = e.end;
      }
      return;
    }
    const range = contentsRange(this.reader, doc);
    let written: string;
    if (patched) written = writeContents(doc);
    else {
      written = writeValue(injected);
      this.sink.note(
        `${this.file}: document ${i} (${describeObject(value)}): written out whole, without its comments (aliases or merge keys on the way to the pod template)`,
      );
    }
    this.sink.write(this.reader.text(this.copied, range.start) + range.lead + written);
    this.copied = range.end;
  }
}

/** Where the document's contents start and end in the text, widened to whole lines. */
function contentsRange(
  reader: DocumentReader,
  doc: Document.Parsed,
): { start: number; end: number; lead: string } {
  const [from, , to] = doc.contents!.range;
  const at = (i: number) => reader.charAt(i);
  let start = from;
  while (at(start - 1) === ' ' || at(start - 1) === '\t') start--;
  const midLine = start > 0 && at(start - 1) !== '\n';
  // The contents may end before their line does (a last key with an empty value): take the newline.
  const end = to > 0 && at(to - 1) !== '\n' && at(to) === '\n' ? to + 1 : to;
  return { start: midLine ? from : start, end, lead: midLine ? '\n' : '' };
}

/**
 * Inject every document of a manifest held in memory: `ManifestInjector` over the whole text,
 * with the output, notes and patches collected.
 */
export function injectManifest(
  file: string,
  text: string,
  template: CompiledTemplate | undefined,
  options: ManifestOptions,
): { out: string; notes: string[]; patches: ObjectPatch[]; refused: string[] } {
  const out: string[] = [];
  const notes: string[] = [];
  const patches: ObjectPatch[] = [];
  const injector = new ManifestInjector(file, template, options, {
    write: (t) => out.push(t),
    note: (n) => notes.push(n),
    patch: (p) => patches.push(p),
  });
  injector.push(text);
  injector.end();
  return { out: out.join(''), notes, patches, refused: injector.refused };
}
