import type { Document } from 'yaml';
import type { Source } from './splice.js';
import { Composer, Parser, READ_OPTIONS } from './yaml.js';

/**
 * Parses a YAML stream as its text arrives and hands out each document once it is complete (the
 * library's incremental parser and composer, the same ones `parseAllDocuments` runs over a whole
 * text, so documents, their ranges and errors are the same). Keeps the text from the offset last
 * released on, so that the caller can copy what it does not change.
 */
export class DocumentReader {
  private readonly parser = new Parser();
  private readonly composer = new Composer(READ_OPTIONS);
  /** The text from stream offset `base` on. */
  private buffer = '';
  private base = 0;
  /** The start of a line whose end has not arrived yet: the parser gets whole lines only. */
  private partial = '';

  /**
   * The documents this piece of text completes. A document is complete once the next one starts
   * (a `---` line) or an end marker (`...`) closes it; it is handed over then, not one later.
   */
  *push(chunk: string): Generator<Document.Parsed> {
    if (chunk === '') return;
    this.buffer += chunk;
    const text = this.partial + chunk;
    const nl = text.lastIndexOf('\n');
    if (nl < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(nl + 1);
    for (const token of this.parser.parse(text.slice(0, nl + 1), true))
      yield* this.composer.next(token) as Generator<Document.Parsed>;
    // The composer holds a finished document until the next one is finished; whole lines were
    // read, so nothing more (an end marker) can belong to it.
    yield* this.composer.end() as Generator<Document.Parsed>;
  }

  /** The last documents, at the end of the text (none for a text of comments only, as `parseAllDocuments`). */
  *end(): Generator<Document.Parsed> {
    for (const token of this.parser.parse(this.partial, false))
      yield* this.composer.next(token) as Generator<Document.Parsed>;
    this.partial = '';
    yield* this.composer.end() as Generator<Document.Parsed>;
  }

  /** The text between two stream offsets (to the end of what has arrived without `to`). */
  text(from: number, to?: number): string {
    return this.buffer.slice(from - this.base, to === undefined ? undefined : to - this.base);
  }

  charAt(at: number): string {
    return this.buffer[at - this.base] ?? '';
  }

  /** The text held, for edits by stream offsets. */
  source(): Source {
    return { text: this.buffer, base: this.base };
  }

  /** The text before `offset` is no longer needed. */
  release(offset: number): void {
    if (offset <= this.base) return;
    this.buffer = this.buffer.slice(offset - this.base);
    this.base = offset;
  }
}
