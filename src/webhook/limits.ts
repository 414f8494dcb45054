import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/**
 * Closes connections that have not sent a request within `ms` of being set up (after the TLS
 * handshake for HTTPS). Node bounds the headers of a request once it has begun, and idle keep-alive
 * time between requests, but not a connection that never begins one: each would hold its TLS state
 * (about 50 KB) for as long as the peer likes.
 *
 * Returns the function that marks a socket as having sent a request.
 */
export function closeSilentConnections(
  server: Server | HttpsServer,
  event: 'connection' | 'secureConnection',
  ms: number,
): (socket: Socket) => void {
  const spoke = new WeakSet<Socket>();
  server.on(event, (socket: Socket) => {
    const timer = setTimeout(() => {
      if (!spoke.has(socket)) socket.destroy();
    }, ms);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  return (socket) => spoke.add(socket);
}

/**
 * A count of admissions in progress (from the request's headers to its answer), bounded: each may
 * buffer a body up to the body cap, so the bound is what keeps memory bounded under a flood.
 */
export class Gate {
  private active = 0;

  constructor(readonly limit: number) {}

  /** Takes a place, or returns undefined when all are taken; the returned function gives it back (once). */
  enter(): (() => void) | undefined {
    if (this.active >= this.limit) return undefined;
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
    };
  }

  get inFlight(): number {
    return this.active;
  }
}
