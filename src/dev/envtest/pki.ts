import { webcrypto } from 'node:crypto';
import { createSelfSignedCA, issueLeaf, type KeyPairPem } from '../../certs/authority.js';

/** A certificate and its private key, both PEM. */
export type KeyPair = KeyPairPem;

/** A CA of the test control plane: its certificate and key (what `issue` signs with). */
export type Authority = KeyPairPem;

const DAY_MS = 86_400_000;

/** Valid from a minute ago (clock skew between processes) for 30 days. */
function validity(): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + 30 * DAY_MS) };
}

/** A self-signed CA for the test control plane (serving and client certificates). */
export async function createAuthority(commonName: string): Promise<Authority> {
  return createSelfSignedCA({ commonName, ...validity() });
}

export interface LeafOptions {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client';
}

/** Issues a leaf certificate signed by `ca`. */
export async function issue(ca: Authority, opts: LeafOptions): Promise<KeyPair> {
  const subject = [`CN=${opts.commonName}`, ...(opts.organizations ?? []).map((o) => `O=${o}`)].join(', ');
  return issueLeaf({
    ca,
    subject,
    ...(opts.dnsNames ? { dnsNames: opts.dnsNames } : {}),
    ...(opts.ipAddresses ? { ipAddresses: opts.ipAddresses } : {}),
    usage: opts.usage,
    ...validity(),
  });
}

function pemBlock(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A key pair for signing service-account tokens (PEM public and private key). */
export async function createSigningKey(): Promise<{ publicPem: string; privatePem: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  return {
    publicPem: pemBlock('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    privatePem: pemBlock('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** An authority from PEM (e.g. the client CA handed to test workers): the pair is all `issue` needs. */
export function authorityFromPem(pair: KeyPair): Promise<Authority> {
  return Promise.resolve({ certPem: pair.certPem, keyPem: pair.keyPem });
}
