// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API
// before it loads: set up here, where x509 is used, not by every entry point.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto is the only randomness and signing this module uses; no clock, no I/O.
x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;

export type KeyAlgorithm = 'ECDSA-P256' | 'RSA-2048';

const algorithms = {
  'ECDSA-P256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'RSA-2048': {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  },
} as const;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** The DNS names and IP addresses a serving certificate must carry. */
export interface ServingHosts {
  dnsNames: string[];
  ipAddresses: string[];
}

/** What the schedule needs to know about a certificate, read from its PEM. */
export interface CertificateInfo {
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
}

export const CA_NAME_PREFIX = 'sidecar-operator-ca-';

/** Clock skew the API server and the operator may disagree by; certificates are backdated by it. */
const MAX_BACKDATE_MS = 60_000;

/**
 * The Service names a webhook is reached by from the API server, plus `extraHosts` (names or IPs)
 * for an operator running outside the cluster and reached by URL.
 */
export function serviceHosts(opts: {
  service: string;
  namespace: string;
  clusterDomain?: string;
  extraHosts?: string[];
}): ServingHosts {
  const { service, namespace, clusterDomain = 'cluster.local', extraHosts = [] } = opts;
  const dns = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`];
  dns.push(`${service}.${namespace}.svc.${clusterDomain}`);
  const ips: string[] = [];
  for (const host of extraHosts) {
    if (isIpAddress(host)) ips.push(normalizeIp(host));
    else dns.push(host.toLowerCase());
  }
  return { dnsNames: unique(dns), ipAddresses: unique(ips) };
}

/** True when both sets of hosts name the same DNS names and addresses, in any order. */
export function sameHosts(a: ServingHosts, b: ServingHosts): boolean {
  const key = (h: ServingHosts): string =>
    [...h.dnsNames.map((d) => `dns:${d.toLowerCase()}`), ...h.ipAddresses.map((i) => `ip:${normalizeIp(i)}`)]
      .sort()
      .join(',');
  return key(a) === key(b);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.includes(':') && /^[0-9a-fA-F:.]+$/.test(host));
}

/** Canonical text of an IP address (IPv6 compressed, lower case), so that SAN comparisons are exact. */
export function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/** Splits a PEM bundle into one PEM per certificate (each newline-terminated). */
export function splitPemBundle(bundle: string): string[] {
  return (
    bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? []
  );
}

export function joinPemBundle(pems: string[]): string {
  return pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

/** Reads the facts the schedule uses from one PEM certificate. Throws on anything that is not one. */
export function inspectCertificate(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    serialNumber: cert.serialNumber,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCA: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => normalizeIp(n.value)),
    subjectKeyId: cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    authorityKeyId: cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
  };
}

/** The `<n>` in `CN=sidecar-operator-ca-<n>`; 0 when the CA was not named by us. */
export function caGeneration(info: Pick<CertificateInfo, 'subject'>): number {
  const m = /CN=sidecar-operator-ca-(\d+)/.exec(info.subject);
  return m ? Number(m[1]) : 0;
}

/** True when `leaf` names `ca` as its issuer (subject and key identifier both match). */
export function isIssuedBy(leaf: CertificateInfo, ca: CertificateInfo): boolean {
  if (leaf.issuer !== ca.subject) return false;
  return leaf.authorityKeyId === undefined || leaf.authorityKeyId === ca.subjectKeyId;
}

/**
 * The validity window of a certificate issued at `now`: backdated by a little for clock skew
 * (never more than a tenth of the lifetime, so that second-long test lifetimes stay meaningful) and
 * never ending after `limit` (a leaf must not outlive its CA). Whole seconds, as X.509 stores them.
 */
export function validityWindow(
  now: Date,
  lifetimeMs: number,
  limit?: Date,
): { notBefore: Date; notAfter: Date } {
  if (!(lifetimeMs >= 1000))
    throw new Error(`certificate lifetime must be at least 1s, got ${lifetimeMs} ms`);
  const backdate = Math.min(MAX_BACKDATE_MS, Math.floor(lifetimeMs / 10));
  const notBefore = floorSeconds(now.getTime() - backdate);
  let notAfter = floorSeconds(now.getTime() + lifetimeMs);
  if (limit !== undefined && limit.getTime() < notAfter) notAfter = floorSeconds(limit.getTime());
  if (notAfter <= now.getTime())
    throw new Error('the signing CA has expired; no certificate can be issued from it');
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}

function floorSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function serialNumber(): string {
  // Positive (high bit clear) and never leading with a zero byte, as RFC 5280 asks.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithms[algorithm], true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

function algorithmOf(cert: x509.X509Certificate): (typeof algorithms)[KeyAlgorithm] {
  // The library types this with the DOM's Algorithm, which this project's lib settings do not load.
  const { name } = cert.publicKey.algorithm as unknown as { name: string };
  return name === 'ECDSA' ? algorithms['ECDSA-P256'] : algorithms['RSA-2048'];
}

/** Creates a self-signed CA named `CN=sidecar-operator-ca-<generation>`. */
export async function createCA(opts: {
  generation: number;
  now: Date;
  lifetimeMs: number;
  keyAlgorithm?: KeyAlgorithm;
}): Promise<KeyPairPem> {
  return createSelfSignedCA({
    commonName: `${CA_NAME_PREFIX}${opts.generation}`,
    ...validityWindow(opts.now, opts.lifetimeMs),
    ...(opts.keyAlgorithm ? { keyAlgorithm: opts.keyAlgorithm } : {}),
  });
}

/**
 * A self-signed CA that signs leaves only (path length 0). The one place CA certificates are made:
 * the operator's (createCA) and the test control plane's.
 */
export async function createSelfSignedCA(opts: {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm?: KeyAlgorithm;
}): Promise<KeyPairPem> {
  const keys = await generateKeys(opts.keyAlgorithm ?? 'ECDSA-P256');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${opts.commonName}`,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: algorithms[opts.keyAlgorithm ?? 'ECDSA-P256'],
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await privateKeyPem(keys.privateKey) };
}

async function loadSigner(ca: KeyPairPem): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const cert = new x509.X509Certificate(ca.certPem);
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  const key = await webcrypto.subtle.importKey('pkcs8', der, algorithmOf(cert), false, ['sign']);
  return { cert, key };
}

/**
 * Issues a serving certificate for `hosts` signed by `ca`, valid for `lifetimeMs` but never past the
 * CA's own notAfter.
 */
export async function issueServingCertificate(opts: {
  ca: KeyPairPem;
  hosts: ServingHosts;
  now: Date;
  lifetimeMs: number;
  keyAlgorithm?: KeyAlgorithm;
}): Promise<KeyPairPem> {
  const { dnsNames, ipAddresses } = opts.hosts;
  if (dnsNames.length + ipAddresses.length === 0)
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  const caNotAfter = new x509.X509Certificate(opts.ca.certPem).notAfter;
  return issueLeaf({
    ca: opts.ca,
    subject: `CN=${dnsNames[0] ?? ipAddresses[0]}`,
    dnsNames,
    ipAddresses,
    usage: 'server',
    ...validityWindow(opts.now, opts.lifetimeMs, caNotAfter),
    ...(opts.keyAlgorithm ? { keyAlgorithm: opts.keyAlgorithm } : {}),
  });
}

/**
 * A leaf certificate signed by `ca`: for a server (serverAuth) or a client (clientAuth). The one
 * place leaves are made: the operator's serving certificate and the test control plane's.
 */
export async function issueLeaf(opts: {
  ca: KeyPairPem;
  /** Distinguished name, e.g. `CN=kube-apiserver` or `CN=admin, O=system:masters`. */
  subject: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  usage: 'server' | 'client';
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm?: KeyAlgorithm;
}): Promise<KeyPairPem> {
  const signer = await loadSigner(opts.ca);
  const keyAlgorithm = opts.keyAlgorithm ?? 'ECDSA-P256';
  const keys = await generateKeys(keyAlgorithm);
  const sans = [
    ...(opts.dnsNames ?? []).map((value) => new x509.GeneralName('dns', value)),
    ...(opts.ipAddresses ?? []).map((value) => new x509.GeneralName('ip', value)),
  ];
  const caKeyId = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const usage =
    keyAlgorithm === 'RSA-2048'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  const eku = opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: opts.subject,
    issuer: signer.cert.subject,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: algorithmOf(signer.cert),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([eku]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      caKeyId
        ? new x509.AuthorityKeyIdentifierExtension(caKeyId)
        : await x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await privateKeyPem(keys.privateKey) };
}

export type VerifyResult = { ok: true; issuer: string } | { ok: false; reason: string };

/**
 * Verifies that `leafPem` is valid at `now` and signed by one of the CAs in `bundlePem` that is
 * itself valid at `now` — what an API server holding `bundlePem` as caBundle would accept.
 */
export async function verifyLeaf(leafPem: string, bundlePem: string, now: Date): Promise<VerifyResult> {
  const leaf = new x509.X509Certificate(leafPem);
  if (now < leaf.notBefore || now > leaf.notAfter)
    return { ok: false, reason: 'leaf is outside its validity' };
  const cas = splitPemBundle(bundlePem).map((p) => new x509.X509Certificate(p));
  for (const ca of cas) {
    if (ca.subject !== leaf.issuer) continue;
    if (now < ca.notBefore || now > ca.notAfter) continue;
    if (await leaf.verify({ publicKey: ca, signatureOnly: true })) return { ok: true, issuer: ca.subject };
  }
  return { ok: false, reason: `no valid CA in the bundle (${cas.length}) signed the leaf` };
}

/** True when `keyPem` is the private key of `certPem` (signs something the certificate verifies). */
export async function keyMatchesCertificate(pair: KeyPairPem): Promise<boolean> {
  try {
    const cert = new x509.X509Certificate(pair.certPem);
    const alg = algorithmOf(cert);
    const der = x509.PemConverter.decodeFirst(pair.keyPem);
    const key = await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
    const data = new Uint8Array([1, 2, 3]);
    const sig = await webcrypto.subtle.sign(alg, key, data);
    const pub = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, alg, false, ['verify']);
    return await webcrypto.subtle.verify(alg, pub, sig, data);
  } catch {
    return false;
  }
}

function certificateBodies(bundle: string): Set<string> {
  return new Set(splitPemBundle(bundle).map((p) => p.replace(/-----[A-Z ]+-----|\s/g, '')));
}

/**
 * True when every CA in `bundlePem` is in each of `caBundles` (the caBundles of the webhook
 * configurations, PEM): the API server then accepts a leaf from any of them. Vacuously true for none.
 */
export function isBundleDistributed(bundlePem: string, caBundles: string[]): boolean {
  const required = [...certificateBodies(bundlePem)];
  return caBundles.every((b) => {
    const have = certificateBodies(b);
    return required.every((c) => have.has(c));
  });
}
