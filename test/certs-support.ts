import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type {
  CoreV1Event,
  KubeConfig,
  V1MutatingWebhookConfiguration,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import type { SidecarPolicy } from '../src/api/index.js';
import { inspectCertificate, splitPemBundle } from '../src/certs/authority.js';
import { SecretAnnotations, SecretKeys } from '../src/certs/index.js';
import { Informer, requestJson } from '../src/kube/index.js';
import { injected, podSpec } from './controller-support.js';

export const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

const text = (s: V1Secret, key: string): string | undefined => {
  const v = s.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
};

/** The fingerprint of the certificate a replica serves on 127.0.0.1:`port` now. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.once('error', reject);
    socket.setTimeout(3000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/** One stored version of the certificate Secret, as the test saw it through a watch. */
export interface SecretVersion {
  at: number;
  resourceVersion: string;
  phase: string | undefined;
  ca: string | undefined;
  leafSerial: string;
  leafIssuer: string;
  leafFingerprint: string;
  bundle: string[];
}

/** Watches the certificate Secret and keeps every version it goes through. */
export function recordSecretHistory(kc: KubeConfig, namespace: string, name: string) {
  const versions: SecretVersion[] = [];
  let deletions = 0;
  const informer = new Informer<V1Secret>(kc, {
    path: `/api/v1/namespaces/${namespace}/secrets`,
    fieldSelector: `metadata.name=${name}`,
  });
  informer.onEvent((e) => {
    if (e.type === 'DELETED') {
      deletions++;
      return;
    }
    const leaf = text(e.object, SecretKeys.leafCert);
    if (!leaf) return;
    const info = inspectCertificate(leaf);
    const ca = text(e.object, SecretKeys.caCert);
    const bundle = text(e.object, SecretKeys.bundle) ?? ca ?? '';
    versions.push({
      at: Date.now(),
      resourceVersion: e.object.metadata?.resourceVersion ?? '',
      phase: e.object.metadata?.annotations?.[SecretAnnotations.phase],
      ca: ca ? inspectCertificate(ca).subject : undefined,
      leafSerial: info.serialNumber,
      leafIssuer: info.issuer,
      leafFingerprint: fingerprintOf(leaf),
      bundle: splitPemBundle(bundle).map((p) => inspectCertificate(p).subject),
    });
  });
  informer.start();
  return {
    versions,
    deletions: () => deletions,
    synced: informer.synced,
    stop: () => informer.stop(),
  };
}

/** Events recorded on the certificate Secret. */
export async function secretEvents(kc: KubeConfig, namespace: string, name: string): Promise<CoreV1Event[]> {
  const list = await requestJson<{ items: CoreV1Event[] }>(kc, {
    path: `/api/v1/namespaces/${namespace}/events`,
    query: { fieldSelector: `involvedObject.kind=Secret,involvedObject.name=${name}` },
  });
  return list.items;
}

export interface Attempt {
  start: number;
  end: number;
  ok: boolean;
  injected: boolean;
  error?: string;
}

/** `concurrency` loops creating pods through the API server until stopped; every attempt is kept. */
export function podLoad(
  kc: KubeConfig,
  namespace: string,
  concurrency: number,
  prefix = 'load',
  pauseMs = 25,
) {
  const attempts: Attempt[] = [];
  let running = true;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const start = Date.now();
      const body = podSpec(`${prefix}-${n++}`);
      try {
        const pod = await requestJson<V1Pod>(kc, {
          method: 'POST',
          path: `/api/v1/namespaces/${namespace}/pods`,
          body,
        });
        attempts.push({ start, end: Date.now(), ok: true, injected: injected(pod) });
        // Paced, so the namespace holds thousands of pods at most (the API server is shared).
        await sleep(pauseMs);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        attempts.push({ start, end: Date.now(), ok: false, injected: false, error });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, () => loop());
  return {
    attempts,
    async stop(): Promise<Attempt[]> {
      running = false;
      await Promise.all(loops);
      return attempts;
    },
  };
}

/** A policy governing `namespace`, failing closed (an untrusted certificate fails the creation). */
export function failClosedSpec(namespace: string): SidecarPolicy['spec'] {
  return {
    selector: { namespaces: [namespace] },
    injection: { failurePolicy: 'Fail', timeoutSeconds: 10 },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Handshake {
  at: number;
  ok: boolean;
  error?: string;
}

/** A TLS handshake with the replica on `port`, verified against `ca` (rejects when it does not verify). */
export function handshake(port: number, ca: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
    socket.setTimeout(3000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/**
 * What a fresh connection from the API server would meet: every `intervalMs`, a new TLS handshake
 * with the replica on `port`, verified against the caBundle the policy's webhook configuration
 * holds at that moment, as watched (the API server reuses connections, so its own calls can hide
 * a gap).
 */
export function handshakeProbe(kc: KubeConfig, webhookConfiguration: string, port: number, intervalMs = 20) {
  const results: Handshake[] = [];
  let running = true;
  const informer = new Informer<V1MutatingWebhookConfiguration>(kc, {
    path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    fieldSelector: `metadata.name=${webhookConfiguration}`,
  });
  informer.start();
  const loop = (async () => {
    await informer.synced;
    while (running) {
      const at = Date.now();
      const mwc = informer.get(webhookConfiguration);
      const ca = Buffer.from(mwc?.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString();
      try {
        await handshake(port, ca);
        results.push({ at, ok: true });
      } catch (err) {
        results.push({ at, ok: false, error: err instanceof Error ? err.message : String(err) });
      }
      await sleep(intervalMs);
    }
  })();
  return {
    results,
    async stop(): Promise<Handshake[]> {
      running = false;
      await loop;
      await informer.stop();
      return results;
    },
  };
}
