import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface Authority extends KeyPair {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

// PEM blocks end with a newline so that they can be concatenated into bundles.
const pem = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return pem(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

/** A self-signed CA for the test control plane (serving and client certificates). */
export async function createAuthority(commonName: string): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    ...validity(30),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: pem(cert.toString('pem')), keyPem: await keyPem(keys.privateKey) };
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
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const subject = [`CN=${opts.commonName}`, ...(opts.organizations ?? []).map((o) => `O=${o}`)].join(', ');
  const sans = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const eku = opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([eku]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    ...validity(30),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { certPem: pem(cert.toString('pem')), keyPem: await keyPem(keys.privateKey) };
}

/** A key pair for signing service-account tokens (PEM public and private key). */
export async function createSigningKey(): Promise<{ publicPem: string; privatePem: string }> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return {
    publicPem: pem(x509.PemConverter.encode(spki, 'PUBLIC KEY')),
    privatePem: await keyPem(keys.privateKey),
  };
}

/** Rebuilds an authority from PEM (e.g. the client CA handed to test workers). */
export async function authorityFromPem(pair: KeyPair): Promise<Authority> {
  const cert = new x509.X509Certificate(pair.certPem);
  const der = x509.PemConverter.decodeFirst(pair.keyPem);
  const privateKey: CryptoKey = await webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']);
  const publicKey = (await cert.publicKey.export(alg, ['verify'])) as CryptoKey;
  return { cert, keys: { privateKey, publicKey }, ...pair };
}
