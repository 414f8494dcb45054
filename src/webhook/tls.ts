import { createSecureContext, type SecureContextOptions } from 'node:tls';

export type MinTLSVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * Forward-secret AEAD suites only: the TLS 1.3 suites, then ECDHE with AES-GCM or ChaCha20-Poly1305
 * for TLS 1.2 (what the Go API server offers by default). No CBC, no RSA key exchange.
 */
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A serving key pair, PEM. `certPem` may carry intermediates after the leaf. */
export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * The TLS settings every secure context of the server gets, with or without a key pair. `clientCAPem`
 * is what client certificates are verified against (the server must also ask for them).
 */
export function tlsOptions(
  minVersion: MinTLSVersion,
  cert?: ServingCertificate,
  clientCAPem?: string,
): SecureContextOptions {
  return {
    minVersion,
    ciphers: CIPHERS,
    honorCipherOrder: true,
    ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
    ...(clientCAPem ? { ca: clientCAPem } : {}),
  };
}

/**
 * Builds the context once to check the pair before it replaces a working one: a key that does not
 * match its certificate throws here, with OpenSSL's message, instead of failing every handshake.
 */
export function checkedTlsOptions(
  minVersion: MinTLSVersion,
  cert: ServingCertificate,
  clientCAPem?: string,
): SecureContextOptions {
  const opts = tlsOptions(minVersion, cert, clientCAPem);
  createSecureContext(opts);
  return opts;
}
