import type { IncomingMessage } from 'node:http';

export type BodyResult =
  { ok: true; body: string } | { ok: false; status: 400 | 413; reason: string; destroy: boolean };

/** Whether the Content-Type names JSON (parameters such as charset are allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Reads a request body up to `maxBytes`. An oversized body is drained (not buffered) so that the
 * client reads a clean 413 instead of a reset; past `4 × maxBytes` the connection is dropped.
 * The server's request timeout bounds how long a slow body can take.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const tooLarge = (destroy: boolean): BodyResult => ({
      ok: false,
      status: 413,
      reason: `body exceeds ${maxBytes} bytes`,
      destroy,
    });
    if (declared > maxBytes * 4) return finish(tooLarge(true));
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBytes) chunks.push(chunk);
      else if (chunks.length > 0) chunks.length = 0;
      if (received > maxBytes * 4) finish(tooLarge(true));
    });
    req.on('end', () => {
      if (received > maxBytes) return finish(tooLarge(false));
      finish({ ok: true, body: Buffer.concat(chunks, received).toString('utf8') });
    });
    req.on('error', (err) =>
      finish({ ok: false, status: 400, reason: `body not received: ${err.message}`, destroy: true }),
    );
    req.on('aborted', () =>
      finish({ ok: false, status: 400, reason: 'request aborted by the client', destroy: true }),
    );
  });
}
