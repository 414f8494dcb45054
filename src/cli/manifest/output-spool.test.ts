import { Buffer } from 'node:buffer';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputSpool } from './output-spool.js';

/**
 * A slow sink: it takes a chunk's bytes only when it gets round to it (a turn of the event loop
 * later), then says it is done — a writer that reuses a chunk's memory before that is caught.
 */
function slowSink(): { sink: Writable; text: () => string; writes: () => number } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      setImmediate(() => {
        chunks.push(Buffer.from(chunk));
        callback();
      });
    },
  });
  return { sink, text: () => Buffer.concat(chunks).toString('utf8'), writes: () => chunks.length };
}

const documents = (n: number, size: number) =>
  Array.from({ length: n }, (_, i) => `---\n# document ${i} ${'x'.repeat(size)}é\n`);

describe('OutputSpool', () => {
  it('writes what it held, in order, when the output fits in memory', async () => {
    const spool = new OutputSpool();
    const docs = documents(10, 100);
    for (const d of docs) spool.write(d);
    const { sink, text } = slowSink();
    await spool.drainTo(sink);
    expect(text()).toBe(docs.join(''));
  });

  it('spills past 1 MiB and writes the same bytes back, one buffer reused only after each write', async () => {
    const spool = new OutputSpool();
    // About 5 MiB: several read-backs of the 1 MiB buffer, the sink holding each chunk it got.
    const docs = documents(500, 10_000);
    for (const d of docs) spool.write(d);
    const { sink, text, writes } = slowSink();
    await spool.drainTo(sink);
    expect(writes()).toBeGreaterThan(4);
    expect(text()).toBe(docs.join(''));
  });

  it('writes nothing once discarded', async () => {
    const spool = new OutputSpool();
    for (const d of documents(200, 10_000)) spool.write(d);
    spool.discard();
    const { sink, text } = slowSink();
    await spool.drainTo(sink);
    expect(text()).toBe('');
  });
});
