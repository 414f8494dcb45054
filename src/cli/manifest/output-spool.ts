import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

/**
 * What is held in memory before the rest goes to a temporary file: most manifests fit, and a large
 * one (1,000 injected documents are some 14 MiB) costs its reader no more than this.
 */
const MEMORY_LIMIT = 2 ** 20;

/**
 * Output held back until the whole input has been read, so that nothing is written when a later
 * document turns out to be refused: in memory up to 1 MiB, past that in a temporary file (removed
 * from its directory as soon as it is open, so it goes with the process whatever happens).
 */
export class OutputSpool {
  private parts: string[] = [];
  private size = 0;
  private fd: number | undefined;

  write(text: string): void {
    if (text === '') return;
    if (this.fd !== undefined) {
      writeSync(this.fd, text);
      return;
    }
    this.parts.push(text);
    this.size += text.length;
    if (this.size > MEMORY_LIMIT) this.spill();
  }

  /** Write everything held to `out`, in order, minding its back-pressure; then let it go. */
  async drainTo(out: Writable): Promise<void> {
    if (this.fd === undefined) {
      if (!out.write(this.parts.join(''))) await once(out, 'drain');
      this.parts = [];
      return;
    }
    // One buffer, reused once `out` has written what it was given: the spilled output costs 1 MiB
    // of memory here, not its size in copies waiting for a collection.
    const buffer = Buffer.alloc(2 ** 20);
    let position = 0;
    for (;;) {
      const n = readSync(this.fd, buffer, 0, buffer.length, position);
      if (n === 0) break;
      position += n;
      await new Promise<void>((resolve, reject) =>
        out.write(buffer.subarray(0, n), (err) => (err ? reject(err) : resolve())),
      );
    }
    this.discard();
  }

  /** Forget what was held. */
  discard(): void {
    this.parts = [];
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private spill(): void {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-operator-inject-'));
    try {
      this.fd = openSync(join(dir, 'out'), 'w+', 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const part of this.parts) writeSync(this.fd, part);
    this.parts = [];
  }
}
