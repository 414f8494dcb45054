import { request, Agent } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, issue, type KeyPair } from '../../test/envtest/pki.js';
import { compileTemplate } from '../inject/index.js';
import { QueuedEventRecorder } from '../kube/event-recorder.js';
import type { EventInput } from '../kube/events.js';
import { WebhookServer } from './server.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage },
);
const review = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'apps',
    object: { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
  },
});

interface Reply {
  status: number;
  body: string;
  cert: PeerCertificate;
}

function call(
  port: number,
  ca: string,
  opts: { path?: string; method?: string; body?: string; type?: string; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        ca,
        path: opts.path ?? '/inject/mesh',
        method: opts.method ?? 'POST',
        headers: { 'content-type': opts.type ?? 'application/json' },
        agent: opts.agent ?? false,
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString(),
            cert,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function plain(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('WebhookServer', () => {
  let ca: KeyPair;
  let serving: KeyPair;
  let server: WebhookServer | undefined;
  beforeAll(async () => {
    const authority = await createAuthority('webhook-test-ca');
    ca = authority;
    serving = await issue(authority, {
      commonName: '127.0.0.1',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  const make = (extra: Partial<ConstructorParameters<typeof WebhookServer>[0]> = {}) =>
    (server = new WebhookServer({
      log: pino({ level: 'silent' }),
      registry: new Registry(),
      operatorNamespace: 'sidecar-system',
      host: '127.0.0.1',
      port: 0,
      probePort: 0,
      ...extra,
    }));

  it('is live at once and ready only once templates and a certificate are loaded', async () => {
    const s = make();
    const { probePort } = await s.start();
    expect((await plain(probePort!, '/healthz')).status).toBe(200);
    const before = await plain(probePort!, '/readyz');
    expect(before.status).toBe(503);
    expect(before.body).toContain('templates not loaded, certificate not loaded');
    s.setCertificate(serving);
    expect((await plain(probePort!, '/readyz')).body).toContain('templates not loaded');
    s.setTemplates(new Map());
    expect((await plain(probePort!, '/readyz')).status).toBe(200);
    expect((await plain(probePort!, '/metrics')).body).toContain('sidecar_webhook_ready 1');
  });

  it('answers a review with a patch, and refuses malformed requests with 400, 405 and 413', async () => {
    const s = make({ maxBodyBytes: 64 * 1024 });
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await s.start();
    const ok = await call(port, ca.certPem, { body: review });
    expect(ok.status).toBe(200);
    const answer = JSON.parse(ok.body);
    expect(answer.response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
    expect((await call(port, ca.certPem, { body: review, type: 'text/plain' })).status).toBe(400);
    expect((await call(port, ca.certPem, { body: review.slice(0, 50) })).status).toBe(400);
    expect((await call(port, ca.certPem, { method: 'GET' })).status).toBe(405);
    expect((await call(port, ca.certPem, { path: '/inject/', body: review })).status).toBe(400);
    expect((await call(port, ca.certPem, { path: '/mutate', body: review })).status).toBe(404);
    const big = await call(port, ca.certPem, { body: review + ' '.repeat(100 * 1024) });
    expect(big.status).toBe(413);
    const huge = await call(port, ca.certPem, { body: ' '.repeat(1024 * 1024) }).catch((e: Error) => e);
    expect(huge instanceof Error ? huge.message : String(huge.status)).toMatch(/413|ECONNRESET|EPIPE/);
    expect((await call(port, ca.certPem, { body: review })).status).toBe(200);
    const metrics = (await plain(probePort!, '/metrics')).body;
    expect(metrics).toMatch(
      /sidecar_webhook_admission_requests_total\{result="injected",reason="Injected"\} 2/,
    );
    expect(metrics).toMatch(
      /sidecar_webhook_admission_requests_total\{result="invalid",reason="PayloadTooLarge"\} 2/,
    );
    expect(metrics).toMatch(/sidecar_webhook_injected_pods_total\{policy="mesh"\} 2/);
    expect(metrics).toContain(
      'sidecar_webhook_admission_duration_seconds_bucket{le="0.0005",result="injected"}',
    );
  });

  it('answers a dry-run review (kubectl --dry-run=server, doctor) without counting it as an injection', async () => {
    const s = make();
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await s.start();
    const dry = JSON.parse(review) as { request: Record<string, unknown> };
    dry.request.dryRun = true;
    for (let i = 0; i < 3; i++) {
      const r = await call(port, ca.certPem, { body: JSON.stringify(dry) });
      expect(JSON.parse(r.body).response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    }
    expect((await call(port, ca.certPem, { body: review })).status).toBe(200);
    const metrics = (await plain(probePort!, '/metrics')).body;
    expect(metrics).toMatch(/sidecar_webhook_injected_pods_total\{policy="mesh"\} 1$/m);
    expect(metrics).toMatch(
      /sidecar_webhook_admission_requests_total\{result="injected",reason="Injected"\} 4/,
    );
  });

  it('refuses a review whose pod has a 1,000,000-character string as annotations or labels: 400 in under 100 ms', async () => {
    const s = make();
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await s.start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // The connection and the TLS session are set up first: the time measured is the server's.
    expect((await call(port, ca.certPem, { body: review, agent })).status).toBe(200);
    for (const field of ['annotations', 'labels']) {
      const hostile = JSON.parse(review);
      hostile.request.object.metadata[field] = 'a'.repeat(1_000_000);
      const started = performance.now();
      const reply = await call(port, ca.certPem, { body: JSON.stringify(hostile), agent });
      const elapsed = performance.now() - started;
      expect(reply.status).toBe(400);
      expect(reply.body).toBe(`request.object.metadata.${field}: must be a map of strings, not a string\n`);
      // Round trip, client included: a loose bound for a loaded machine (it took about 20 s).
      expect(elapsed).toBeLessThan(1000);
    }
    // The server's own time, from the request's headers to its answer: both under 100 ms.
    expect((await plain(probePort!, '/metrics')).body).toMatch(
      /sidecar_webhook_admission_duration_seconds_bucket\{le="0.1",result="invalid"\} 2\n/,
    );
    // The replica still answers.
    expect((await call(port, ca.certPem, { body: review, agent })).status).toBe(200);
    agent.destroy();
  });

  /** A TLS connection that completes its handshake and then sends nothing. */
  const silent = (port: number) =>
    new Promise<TLSSocket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('socket disconnected before the handshake ended')));
    });
  /** When the socket closed (now, if it already has). */
  const closed = (socket: Socket) =>
    new Promise<number>((resolve) => {
      if (socket.closed) return resolve(performance.now());
      socket.once('close', () => resolve(performance.now()));
      socket.on('error', () => undefined);
    });

  it('closes connections that never send a request, and keeps those that did', async () => {
    const s = make({ silentConnectionTimeoutMs: 300 });
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await s.start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await new Promise<TLSSocket>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          ca: ca.certPem,
          path: '/inject/mesh',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          res.resume();
          res.on('end', () => resolve(socket));
        },
      );
      req.on('error', reject);
      req.end(review);
    });
    const started = performance.now();
    const idle = await Promise.all(Array.from({ length: 20 }, () => silent(port)));
    const plainIdle = await new Promise<Socket>((resolve) => {
      const socket = netConnect({ host: '127.0.0.1', port: probePort! }, () => resolve(socket));
    });
    const times = await Promise.all([...idle, plainIdle].map(closed));
    for (const t of times) {
      expect(t - started).toBeGreaterThanOrEqual(250);
      expect(t - started).toBeLessThan(15_000);
    }
    // The connection that sent a request is kept alive past the silent timeout, and reused.
    expect(first.destroyed).toBe(false);
    const again = await call(port, ca.certPem, { body: review, agent });
    expect(again.status).toBe(200);
    expect(first.destroyed).toBe(false);
    agent.destroy();
  }, 30_000);

  it('refuses connections beyond maxConnections until one closes', async () => {
    const s = make({ maxConnections: 3, silentConnectionTimeoutMs: 60_000 });
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port } = await s.start();
    const open = await Promise.all([silent(port), silent(port), silent(port)]);
    await expect(silent(port)).rejects.toThrow(/ECONNRESET|socket disconnected|EPIPE/);
    open[0].destroy();
    await closed(open[0]);
    await new Promise((r) => setTimeout(r, 100));
    const fourth = await silent(port);
    expect(fourth.authorized).toBe(true);
    for (const sock of [...open, fourth]) sock.destroy();
  });

  it('answers 429 with Retry-After past maxConcurrentReviews, and serves again once they end', async () => {
    const s = make({ maxConcurrentReviews: 2 });
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await s.start();
    // Two reviews whose bodies are still arriving hold both places.
    const slow = Array.from({ length: 2 }, () => {
      let finish: () => void = () => undefined;
      const reply = new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            ca: ca.certPem,
            path: '/inject/mesh',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(review) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.write(review.slice(0, 10));
        finish = () => req.end(review.slice(10));
      });
      return { reply, finish: () => finish() };
    });
    await new Promise((r) => setTimeout(r, 200));
    const third = await new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          ca: ca.certPem,
          path: '/inject/mesh',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] }));
        },
      );
      req.on('error', reject);
      req.end(review);
    });
    expect(third).toEqual({ status: 429, retryAfter: '1' });
    // Probes are not admissions: they are served whatever the count.
    expect((await plain(probePort!, '/healthz')).status).toBe(200);
    for (const r of slow) r.finish();
    expect(await Promise.all(slow.map((r) => r.reply))).toEqual([200, 200]);
    expect((await call(port, ca.certPem, { body: review })).status).toBe(200);
    expect((await call(port, ca.certPem, { body: review })).status).toBe(200);
    expect((await plain(probePort!, '/metrics')).body).toMatch(
      /sidecar_webhook_admission_requests_total\{result="throttled",reason="TooManyRequests"\} 1/,
    );
  });

  it('records Events only for callers it authenticated, and answers 401 to others when it can tell', async () => {
    const clientCA = await createAuthority('webhook-client-ca');
    const apiserver = await issue(clientCA, { commonName: 'kube-apiserver', usage: 'client' });
    const stranger = await issue(clientCA, { commonName: 'someone-else', usage: 'client' });
    const other = await issue(await createAuthority('cluster-ca'), {
      commonName: 'kube-apiserver',
      usage: 'client',
    });
    const withCert = (port: number, client?: KeyPair) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            ca: ca.certPem,
            path: '/inject/mesh',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json' },
            ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.end(review);
      });

    // Without a client CA nobody is authenticated: every caller is served, none causes an Event.
    const seen: EventInput[] = [];
    const open = make({ events: { record: (e) => seen.push(e) } });
    open.setCertificate(serving);
    open.setTemplates(new Map([['mesh', template]]));
    const p1 = (await open.start()).port;
    expect((await withCert(p1)).status).toBe(200);
    expect((await withCert(p1, apiserver)).status).toBe(200);
    expect(seen).toEqual([]);
    await open.stop();

    // With one, only a certificate it verifies (and a listed name) is let in, and only then an Event.
    const gated = make({
      events: { record: (e) => seen.push(e) },
      clientCAPem: clientCA.certPem,
      clientCommonNames: ['kube-apiserver'],
    });
    gated.setCertificate(serving);
    gated.setTemplates(new Map([['mesh', template]]));
    const { port, probePort } = await gated.start();
    for (const client of [undefined, other, stranger]) {
      const reply = await withCert(port, client);
      expect(reply.status).toBe(401);
      expect(reply.body).not.toContain('sidecar-proxy');
    }
    expect(seen).toEqual([]);
    const ok = await withCert(port, apiserver);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).response.patchType).toBe('JSONPatch');
    expect(seen.map((e) => e.reason)).toEqual(['Injected']);
    // A swapped serving certificate keeps the client CA.
    gated.setCertificate(serving);
    expect((await withCert(port, apiserver)).status).toBe(200);
    expect((await withCert(port)).status).toBe(401);
    expect((await plain(probePort!, '/metrics')).body).toMatch(
      /sidecar_webhook_admission_requests_total\{result="unauthenticated",reason="NoClientCertificate"\} 4/,
    );
  });

  it('refuses TLS below 1.2 and swaps its certificate for new connections only', async () => {
    const s = make();
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port } = await s.start();
    const old = connect({
      host: '127.0.0.1',
      port,
      ca: ca.certPem,
      maxVersion: 'TLSv1.1',
      minVersion: 'TLSv1',
    });
    const refused = await new Promise<Error | undefined>((resolve) => {
      old.on('secureConnect', () => resolve(undefined));
      old.on('error', resolve);
    });
    expect(refused).toBeInstanceOf(Error);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await call(port, ca.certPem, { body: review, agent });
    const ca2 = await createAuthority('webhook-test-ca-2');
    const serving2 = await issue(ca2, {
      commonName: '127.0.0.1',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    expect(() => s.setCertificate({ certPem: serving2.certPem, keyPem: serving.keyPem })).toThrow();
    s.setCertificate(serving2);
    // The kept-alive connection still speaks with the old certificate; a new one gets the new one.
    const reused = await call(port, ca.certPem, { body: review, agent });
    expect(reused.status).toBe(200);
    expect(reused.cert.fingerprint256).toBe(first.cert.fingerprint256);
    const fresh = await call(port, ca2.certPem, { body: review });
    expect(fresh.status).toBe(200);
    expect(fresh.cert.fingerprint256).not.toBe(first.cert.fingerprint256);
    agent.destroy();
  });

  it('drains in-flight requests on stop, then refuses connections', async () => {
    const s = make();
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port } = await s.start();
    const slow = new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          ca: ca.certPem,
          path: '/inject/mesh',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(review) },
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body, cert: {} as PeerCertificate }));
        },
      );
      req.on('error', reject);
      req.write(review.slice(0, 100));
      setTimeout(() => req.end(review.slice(100)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = s.stop();
    server = undefined;
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).response.uid).toBe('u-1');
    await stopped;
    await expect(call(port, ca.certPem, { body: review })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('hands each decision to the event recorder after answering, and never waits for it', async () => {
    const seen: EventInput[] = [];
    // No client CA here: Events for unauthenticated callers are asked for explicitly.
    const s = make({ events: { record: (e) => seen.push(e) }, unauthenticatedEvents: true });
    s.setCertificate(serving);
    s.setTemplates(new Map([['mesh', template]]));
    const { port } = await s.start();
    expect((await call(port, ca.certPem, { body: review })).status).toBe(200);
    expect(seen).toEqual([
      {
        object: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'apps' },
        type: 'Normal',
        reason: 'Injected',
        message: `pod injected with policy mesh revision ${template.revision}`,
      },
    ]);
    await s.stop();

    // An API server that never answers, a queue of 5: every review is still answered at once.
    let drops = 0;
    const stuck = new QueuedEventRecorder({
      sink: {
        create: () => new Promise<string>(() => undefined),
        update: () => new Promise<void>(() => undefined),
      },
      reporter: { component: 'sidecar-operator-webhook', instance: 'test' },
      clock: () => new Date(),
      maxQueue: 5,
      aggregateWindowMs: 0,
      onDrop: () => drops++,
    });
    const slow = make({ events: stuck, unauthenticatedEvents: true });
    slow.setCertificate(serving);
    slow.setTemplates(new Map([['mesh', template]]));
    const p2 = (await slow.start()).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    const started = performance.now();
    for (let i = 0; i < 50; i++)
      expect((await call(p2, ca.certPem, { body: review, agent })).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(drops).toBeGreaterThanOrEqual(50 - 5 - 2);
    agent.destroy();
    await slow.stop();

    // A recorder that throws does not turn into a failed admission.
    const broken = make({
      unauthenticatedEvents: true,
      events: {
        record: () => {
          throw new Error('boom');
        },
      },
    });
    broken.setCertificate(serving);
    broken.setTemplates(new Map([['mesh', template]]));
    const p3 = (await broken.start()).port;
    expect((await call(p3, ca.certPem, { body: review })).status).toBe(200);
  });
});
