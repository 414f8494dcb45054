import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import type { ReviewProbe, TlsProbe } from './inputs.js';

export interface Dial {
  host: string;
  port: number;
  /** The name the API server would dial and verify: sent as SNI (unless an IP) and checked in the certificate. */
  expectedHost: string;
  timeoutMs: number;
}

function subjectOf(cert: PeerCertificate): string {
  const cn = cert.subject?.CN;
  return Array.isArray(cn) ? cn.join(',') : (cn ?? '');
}

/**
 * Connects with TLS, trusting only `caPem` (the webhook's caBundle), and reports whether the served
 * chain verifies and whether it names `expectedHost` — the two checks the API server makes.
 */
export function probeTls(dial: Dial, caPem: string): Promise<TlsProbe> {
  const address = `${dial.host}:${dial.port}`;
  const base = { address, expectedHost: dial.expectedHost };
  return new Promise((resolve) => {
    const socket = connect({
      host: dial.host,
      port: dial.port,
      ca: caPem,
      ...(isIP(dial.expectedHost) === 0 ? { servername: dial.expectedHost } : {}),
      rejectUnauthorized: false,
      // The chain and the name are judged apart, so the report says which one is wrong.
      checkServerIdentity: () => undefined,
      timeout: dial.timeoutMs,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const probe: TlsProbe = {
        ...base,
        chainVerified: socket.authorized,
        peerSubject: subjectOf(cert),
        ...(cert.valid_to ? { peerNotAfter: new Date(cert.valid_to) } : {}),
      };
      if (!socket.authorized) probe.chainError = String(socket.authorizationError);
      else {
        const err = checkServerIdentity(dial.expectedHost, cert);
        if (err) probe.hostnameError = err.message;
      }
      socket.destroy();
      resolve(probe);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ...base, connectError: `no TLS handshake within ${dial.timeoutMs} ms` });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ ...base, connectError: err.code ? `${err.code} ${err.message}` : err.message });
    });
  });
}

interface ReviewBody {
  response?: {
    uid?: string;
    allowed?: boolean;
    patch?: string;
    status?: { message?: string };
    warnings?: string[];
  };
}

/** POSTs a dry-run AdmissionReview for `pod` and reads the answer (TLS trust is probeTls's job). */
export function postReview(dial: Dial, path: string, namespace: string, pod: object): Promise<ReviewProbe> {
  const uid = randomUUID();
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace,
      userInfo: { username: 'sidecar-operator-doctor' },
      object: pod,
      dryRun: true,
    },
  });
  return new Promise((resolve) => {
    const req = request(
      {
        host: dial.host,
        port: dial.port,
        path,
        method: 'POST',
        ...(isIP(dial.expectedHost) === 0 ? { servername: dial.expectedHost } : {}),
        rejectUnauthorized: false,
        timeout: dial.timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(readReview(res.statusCode ?? 0, text, uid)));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${dial.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ error: err.code ? `${err.code} ${err.message}` : err.message }),
    );
    req.end(body);
  });
}

function readReview(httpStatus: number, text: string, uid: string): ReviewProbe {
  if (httpStatus !== 200) return { httpStatus, message: text.slice(0, 200) };
  let review: ReviewBody;
  try {
    review = JSON.parse(text) as ReviewBody;
  } catch {
    return { httpStatus, error: 'the answer is not JSON' };
  }
  const r = review.response;
  if (!r) return { httpStatus, error: 'the answer has no response' };
  if (r.uid !== uid) return { httpStatus, error: `the answer's uid ${r.uid} is not the request's` };
  let patchOps = 0;
  if (r.patch !== undefined) {
    const ops: unknown = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8'));
    patchOps = Array.isArray(ops) ? ops.length : 0;
  }
  const message = r.status?.message ?? r.warnings?.join('; ');
  return { httpStatus, allowed: r.allowed === true, patchOps, ...(message ? { message } : {}) };
}
