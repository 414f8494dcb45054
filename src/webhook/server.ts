import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CompiledTemplate } from '../inject/index.js';
import { admissionEvent, type AdmissionEventRecorder } from './admission-events.js';
import { isJsonContentType, readBody } from './body.js';
import { decodeAdmissionReview, encodeAdmissionReview, type AdmissionRequest } from './codec.js';
import { handleAdmission, type AdmissionOutcome } from './handler.js';
import { closeSilentConnections, Gate } from './limits.js';
import type { MetricsAuthorizer } from './metrics-auth.js';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.js';
import { checkedTlsOptions, tlsOptions, type MinTLSVersion, type ServingCertificate } from './tls.js';

export const INJECT_PATH_PREFIX = '/inject/';
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 512;
export const DEFAULT_MAX_CONCURRENT_REVIEWS = 16;
export const DEFAULT_SILENT_CONNECTION_TIMEOUT_MS = 10_000;

export interface WebhookServerOptions {
  /** Child logger of the root one, e.g. `log.child({ component: 'webhook' })`. */
  log: Logger;
  /** The process's registry (shared with the controller); `/metrics` serves all of it. */
  registry: Registry;
  /** The operator's namespace: its pods are never injected. */
  operatorNamespace: string;
  /** Default 0.0.0.0. */
  host?: string;
  /** HTTPS port; 0 picks a free port (see the value `start()` returns). */
  port: number;
  /**
   * Time allowed to receive a whole request (headers and body), default 8000 ms: below the
   * webhook's default timeoutSeconds (10), so a stuck client is cut before the API server gives up.
   */
  requestTimeoutMs?: number;
  /** Default 6 MiB, a little above the API server's own 3 MiB object limit once wrapped in a review. */
  maxBodyBytes?: number;
  /** Idle keep-alive, default 120 s: longer than the API server's 90 s idle timeout, so it closes first. */
  keepAliveTimeoutMs?: number;
  /**
   * A connection that has sent no request this long after its TLS handshake is closed, default
   * 10 s (the API server sends its request at once). Keep-alive covers idleness between requests.
   */
  silentConnectionTimeoutMs?: number;
  /** Open connections per listener, default 512; more are closed as they arrive. */
  maxConnections?: number;
  /**
   * Admission reviews in progress at once, default 16; more are answered 429 with `Retry-After: 1`
   * (the API server's client retries). Each may buffer up to `maxBodyBytes`.
   */
  maxConcurrentReviews?: number;
  /** How long `stop()` waits for in-flight requests before cutting connections, default 10 s. */
  shutdownTimeoutMs?: number;
  minTLSVersion?: MinTLSVersion;
  /** Also serve /healthz, /readyz and /metrics over plain HTTP on this port (kubelet probes, scrapes). */
  probePort?: number;
  /**
   * Events on the pod's owner for each decision (Injected, InjectionSkipped, InjectionFailed),
   * handed over after the answer is sent; the recorder must not block. Unset: no Events. Only an
   * authenticated caller's reviews become Events, unless `unauthenticatedEvents` says otherwise.
   */
  events?: AdmissionEventRecorder;
  /**
   * PEM bundle of the CA that signs the API server's client certificate (the one its
   * admission-control kubeconfig presents for this webhook); a CA of its own, not the cluster's,
   * whose certificates every user may hold. Set: the server asks each client for a certificate, and
   * `/inject` answers 401, before reading the body, to a caller without one this bundle verifies.
   * Unset: no caller is authenticated and every caller is served.
   */
  clientCAPem?: string;
  /** With `clientCAPem`: the client certificate's common name must also be one of these. */
  clientCommonNames?: string[];
  /**
   * Record Events for reviews from unauthenticated callers too (without `clientCAPem`, that is every
   * caller). Default false: anyone who reaches the port could otherwise write Events into any
   * namespace, about any object, with the owner references they choose.
   */
  unauthenticatedEvents?: boolean;
  /**
   * Who may read /metrics, on either port (`kubernetesMetricsAuthorizer`: a bearer token the API
   * server authenticates and allows `get` on /metrics). Unset: anyone who reaches a port.
   */
  metricsAuthorizer?: MetricsAuthorizer;
}

type Listener = Server | HttpsServer;

/**
 * The admission webhook: `POST /inject/<policy>` over HTTPS, plus `/healthz`, `/readyz` and
 * `/metrics`. Templates and the serving certificate are swapped while it runs (`setTemplates`,
 * `setCertificate`), without a restart and without dropping a connection.
 */
export class WebhookServer {
  private readonly log: Logger;
  private readonly metrics: WebhookMetrics;
  private readonly minTLS: MinTLSVersion;
  private templates: ReadonlyMap<string, CompiledTemplate> | undefined;
  private certificate: ServingCertificate | undefined;
  private server: HttpsServer | undefined;
  private probe: Server | undefined;
  private draining = false;
  private readonly reviews: Gate;
  private readonly spoke: ((socket: Socket) => void)[] = [];

  constructor(private readonly opts: WebhookServerOptions) {
    this.reviews = new Gate(opts.maxConcurrentReviews ?? DEFAULT_MAX_CONCURRENT_REVIEWS);
    this.log = opts.log;
    this.metrics = createWebhookMetrics(opts.registry);
    this.minTLS = opts.minTLSVersion ?? 'TLSv1.2';
    this.updateReady();
  }

  /** Replaces the whole template set (policy name → template). An empty set is a valid, loaded set. */
  setTemplates(templates: ReadonlyMap<string, CompiledTemplate>): void {
    this.templates = new Map(templates);
    this.updateReady();
  }

  /**
   * Serves this key pair from the next handshake on; connections already open keep theirs.
   * Throws (keeping the previous pair) if the key does not match the certificate.
   */
  setCertificate(cert: ServingCertificate): void {
    const options = checkedTlsOptions(this.minTLS, cert, this.opts.clientCAPem);
    this.server?.setSecureContext(options);
    this.certificate = { certPem: cert.certPem, keyPem: cert.keyPem };
    this.updateReady();
  }

  /** Ready once templates and a certificate were loaded, until shutdown begins. */
  readiness(): { ready: boolean; templates: boolean; certificate: boolean; draining: boolean } {
    const templates = this.templates !== undefined;
    const certificate = this.certificate !== undefined;
    return {
      ready: templates && certificate && !this.draining,
      templates,
      certificate,
      draining: this.draining,
    };
  }

  async start(): Promise<{ port: number; probePort?: number }> {
    if (this.server) throw new Error('webhook server already started');
    const timeout = this.opts.requestTimeoutMs ?? 8000;
    const server = createHttpsServer(
      {
        ...tlsOptions(this.minTLS, this.certificate, this.opts.clientCAPem),
        // Ask for a certificate when there is a CA to check it against, but let a caller without
        // one finish the handshake: /healthz and /readyz stay open, /inject answers 401.
        requestCert: this.opts.clientCAPem !== undefined,
        rejectUnauthorized: false,
        requestTimeout: timeout,
        headersTimeout: timeout,
        // Node checks request timeouts on this interval (30 s by default): keep it well below them.
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 4))),
        handshakeTimeout: timeout,
        keepAlive: true,
      },
      (req, res) => this.onRequest(req, res, true),
    );
    server.keepAliveTimeout = this.opts.keepAliveTimeoutMs ?? 120_000;
    server.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'TLS handshake failed'));
    this.bound(server, 'secureConnection');
    this.server = server;
    const port = await listen(server, this.opts.port, this.opts.host ?? '0.0.0.0');
    if (this.opts.probePort === undefined) {
      this.log.info({ port }, 'webhook server listening');
      return { port };
    }
    this.probe = createHttpServer({ requestTimeout: timeout, headersTimeout: timeout }, (req, res) =>
      this.onRequest(req, res, false),
    );
    this.bound(this.probe, 'connection');
    const probePort = await listen(this.probe, this.opts.probePort, this.opts.host ?? '0.0.0.0');
    this.log.info({ port, probePort }, 'webhook server listening');
    return { port, probePort };
  }

  /**
   * Graceful shutdown: report not ready, stop accepting, let in-flight requests finish (their
   * responses close the connection), close idle keep-alive sockets, and cut what is left after
   * `shutdownTimeoutMs`.
   */
  async stop(): Promise<void> {
    this.drain();
    const servers = [this.server, this.probe].filter((s): s is Listener => s !== undefined);
    this.server = undefined;
    this.probe = undefined;
    await Promise.all(servers.map((s) => close(s, this.opts.shutdownTimeoutMs ?? 10_000)));
    this.log.info('webhook server stopped');
  }

  /** Reports not ready and closes each connection after its answer, still listening. */
  drain(): void {
    this.draining = true;
    this.updateReady();
  }

  /** Connection count and silent-connection bounds on one listener. */
  private bound(server: Listener, event: 'connection' | 'secureConnection'): void {
    server.maxConnections = this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('drop', (data?: { remoteAddress?: string }) =>
      this.log.debug({ remote: data?.remoteAddress }, 'connection dropped: too many open'),
    );
    const ms = this.opts.silentConnectionTimeoutMs ?? DEFAULT_SILENT_CONNECTION_TIMEOUT_MS;
    this.spoke.push(closeSilentConnections(server, event, ms));
  }

  /** Every answer after shutdown began closes its connection, so keep-alive sockets drain too. */
  private send(res: ServerResponse, status: number, body: string, contentType?: string): void {
    if (this.draining) res.setHeader('connection', 'close');
    send(res, status, body, contentType);
  }

  private updateReady(): void {
    this.metrics.ready.set(this.readiness().ready ? 1 : 0);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, secure: boolean): void {
    for (const mark of this.spoke) mark(req.socket);
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path === '/healthz') return this.send(res, 200, 'ok\n');
    if (path === '/readyz') return this.ready(res);
    if (path === '/metrics') return void this.serveMetrics(req, res);
    if (secure && path.startsWith(INJECT_PATH_PREFIX)) {
      const started = process.hrtime.bigint();
      const leave = this.reviews.enter();
      if (!leave) return this.throttle(res, started);
      res.once('close', leave);
      this.admit(req, res, path.slice(INJECT_PATH_PREFIX.length), started).catch((err: unknown) => {
        this.log.error({ err }, 'admission request failed');
        if (!res.headersSent) this.send(res, 500, 'internal error\n');
        else res.destroy();
      });
      return;
    }
    this.send(res, 404, 'not found\n');
  }

  /**
   * All places taken: 429 before the body is read, and the connection closed so that its body is
   * not read either. The API server's client waits `Retry-After` and tries again.
   */
  private throttle(res: ServerResponse, started: bigint): void {
    this.record('throttled', 'TooManyRequests', started);
    this.log.debug({ limit: this.reviews.limit }, 'admission request throttled');
    res.setHeader('retry-after', '1');
    res.setHeader('connection', 'close');
    this.send(res, 429, 'too many admission reviews in progress\n');
  }

  private ready(res: ServerResponse): void {
    const r = this.readiness();
    if (r.ready) return this.send(res, 200, 'ok\n');
    const missing = [
      r.templates ? '' : 'templates not loaded',
      r.certificate ? '' : 'certificate not loaded',
      r.draining ? 'shutting down' : '',
    ].filter(Boolean);
    this.send(res, 503, `not ready: ${missing.join(', ')}\n`);
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authorize = this.opts.metricsAuthorizer;
    if (authorize) {
      const verdict = await authorize(req.headers.authorization);
      if (!verdict.allowed) {
        if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer');
        return this.send(res, verdict.status, `${verdict.reason}\n`);
      }
    }
    try {
      const text = await this.opts.registry.metrics();
      this.send(res, 200, text, this.opts.registry.contentType);
    } catch (err) {
      this.log.error({ err }, 'metrics collection failed');
      this.send(res, 500, 'metrics collection failed\n');
    }
  }

  private async admit(
    req: IncomingMessage,
    res: ServerResponse,
    rawPolicy: string,
    started: bigint,
  ): Promise<void> {
    const authenticated = this.authenticated(req);
    if (!authenticated && this.opts.clientCAPem !== undefined) {
      this.record('unauthenticated', 'NoClientCertificate', started);
      this.log.debug({ remote: req.socket.remoteAddress }, 'admission request without a client certificate');
      res.setHeader('connection', 'close');
      return this.send(res, 401, 'a client certificate signed by the webhook client CA is required\n');
    }
    const reject = (status: 400 | 405 | 413, reason: string): void => {
      this.record('invalid', status === 413 ? 'PayloadTooLarge' : 'BadRequest', started);
      this.log.warn(
        { status, reason, path: req.url, remote: req.socket.remoteAddress },
        'admission request rejected',
      );
      this.send(res, status, `${reason}\n`);
    };
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reject(405, 'only POST is served here');
    }
    const policy = decodePolicy(rawPolicy);
    if (policy === undefined) return reject(400, 'path must be /inject/<policy>');
    if (!isJsonContentType(req.headers['content-type']))
      return reject(400, 'content-type must be application/json');
    const body = await readBody(req, this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (!body.ok) {
      if (body.destroy) res.setHeader('connection', 'close');
      return reject(body.status, body.reason);
    }
    const decoded = decodeAdmissionReview(body.body);
    if (!decoded.ok) return reject(400, decoded.reason);
    const outcome = handleAdmission(policy, decoded.request, this.templates, {
      operatorNamespace: this.opts.operatorNamespace,
    });
    this.send(res, 200, encodeAdmissionReview(outcome.response), 'application/json');
    this.observe(policy, decoded.request, outcome, started);
    if (authenticated || this.opts.unauthenticatedEvents === true)
      this.emit(policy, decoded.request, outcome);
  }

  /** A verified client certificate from the configured CA (and, if named, common name). */
  private authenticated(req: IncomingMessage): boolean {
    if (this.opts.clientCAPem === undefined) return false;
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return false;
    const names = this.opts.clientCommonNames;
    if (names === undefined) return true;
    const cn = socket.getPeerCertificate().subject?.CN;
    return typeof cn === 'string' && names.includes(cn);
  }

  /** After the answer: an Event is best effort and must never fail or delay an admission. */
  private emit(policy: string, request: AdmissionRequest, outcome: AdmissionOutcome): void {
    if (!this.opts.events) return;
    try {
      const event = admissionEvent(policy, request, outcome);
      if (event) this.opts.events.record(event);
    } catch (err) {
      this.log.debug({ err }, 'admission event not recorded');
    }
  }

  private record(result: string, reason: string, started: bigint): number {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.duration.observe({ result }, seconds);
    this.metrics.requests.inc({ result, reason });
    return seconds * 1000;
  }

  private observe(
    policy: string,
    request: AdmissionRequest,
    outcome: AdmissionOutcome,
    started: bigint,
  ): void {
    const durationMs = this.record(outcome.result, outcome.reason, started);
    // A dry run (kubectl --dry-run=server, doctor's probe) creates no pod: not an injection.
    if (outcome.result === 'injected' && !request.dryRun) this.metrics.injected.inc({ policy });
    if (outcome.result === 'unknown_policy') this.metrics.unknownPolicy.inc();
    const log = this.log.child({ uid: request.uid, namespace: outcome.namespace, pod: outcome.pod, policy });
    if (request.dryRun && (outcome.result === 'injected' || outcome.result === 'skipped')) {
      log.debug(
        { result: outcome.result, reason: outcome.reason, dryRun: true },
        `dry run: ${outcome.message}`,
      );
      return;
    }
    const fields = {
      result: outcome.result,
      reason: outcome.reason,
      revision: outcome.revision,
      durationMs: Math.round(durationMs * 1000) / 1000,
    };
    if (outcome.result === 'ignored') log.debug(fields, outcome.message);
    else if (
      outcome.result === 'error' ||
      outcome.result === 'unknown_policy' ||
      outcome.result === 'refused'
    )
      log.warn(fields, outcome.message);
    else log.info(fields, outcome.message);
    if (outcome.patch && log.isLevelEnabled('debug')) log.debug({ patch: outcome.patch }, 'patch');
  }
}

/** The policy segment of the path, or undefined when it is empty, nested or badly escaped. */
function decodePolicy(raw: string): string | undefined {
  if (raw === '' || raw.includes('/')) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function listen(server: Listener, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Listener, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
