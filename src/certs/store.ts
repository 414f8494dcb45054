import { ApiException, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ServingHosts } from './authority.js';
import { decideCertificateAction, type CertificateAction, type CertificateSettings } from './schedule.js';
import {
  decodeSecret,
  encodeSecret,
  parseServingMaterial,
  SecretAnnotations,
  SecretKeys,
  type DecodedSecret,
  type ServingMaterial,
} from './secret-format.js';
import { canonicalBundle, phaseOf, type CertificateState } from './state.js';
import { applyCertificateAction } from './transition.js';

const LABELS = {
  'app.kubernetes.io/managed-by': 'sidecar-operator',
  'app.kubernetes.io/component': 'certificates',
};

/** Where the certificates live. */
export interface CertificateSecretRef {
  core: CoreV1Api;
  namespace: string;
  name: string;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Reads the certificate Secret; undefined when it does not exist. */
export async function readCertificateSecret(ref: CertificateSecretRef): Promise<V1Secret | undefined> {
  try {
    return await ref.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export type WriteOutcome = 'Created' | 'Updated' | 'Conflict';

/** The Secret body for `state`, keeping whatever labels, annotations and data others put on `base`. */
export function secretBody(ref: CertificateSecretRef, state: CertificateState, base?: V1Secret): V1Secret {
  const { data, annotations } = encodeSecret(state);
  const ownKeys = new Set<string>(Object.values(SecretKeys));
  const ownAnnotations = new Set<string>(Object.values(SecretAnnotations));
  const keep = <T>(rec: Record<string, T> | undefined, own: Set<string>): Record<string, T> =>
    Object.fromEntries(Object.entries(rec ?? {}).filter(([k]) => !own.has(k)));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: base?.type ?? 'kubernetes.io/tls',
    metadata: {
      ...(base?.metadata ?? {}),
      managedFields: undefined,
      name: ref.name,
      namespace: ref.namespace,
      labels: { ...(base?.metadata?.labels ?? {}), ...LABELS },
      annotations: { ...keep(base?.metadata?.annotations, ownAnnotations), ...annotations },
    },
    data: { ...keep(base?.data, ownKeys), ...data },
  };
}

/**
 * Writes `state`: creates the Secret when `base` is undefined, else replaces it under `base`'s
 * resourceVersion. A 409 (someone else wrote first) or a 404 on update (deleted meanwhile) is
 * `Conflict`: the other writer's Secret stands and the caller decides again from a fresh read.
 */
export async function writeCertificateSecret(
  ref: CertificateSecretRef,
  state: CertificateState,
  base: V1Secret | undefined,
): Promise<{ outcome: WriteOutcome; secret: V1Secret | undefined }> {
  const body = secretBody(ref, state, base);
  try {
    if (base === undefined) {
      return {
        outcome: 'Created',
        secret: await ref.core.createNamespacedSecret({ namespace: ref.namespace, body }),
      };
    }
    if (!base.metadata?.resourceVersion) throw new Error('refusing an update without a resourceVersion');
    const secret = await ref.core.replaceNamespacedSecret({ name: ref.name, namespace: ref.namespace, body });
    return { outcome: 'Updated', secret };
  } catch (err) {
    const code = statusOf(err);
    if (code === 409 || (code === 404 && base !== undefined)) {
      return { outcome: 'Conflict', secret: await readCertificateSecret(ref) };
    }
    throw err;
  }
}

export interface ReconcileCertificatesInput extends CertificateSecretRef {
  now: Date;
  settings: CertificateSettings;
  hosts: ServingHosts;
  /**
   * Whether every owned webhook configuration's caBundle holds the stored bundle's CAs. A function
   * is asked about the bundle of the Secret as just read (never a cached, possibly older one).
   */
  bundleDistributed: boolean | ((bundlePem: string) => boolean);
  logger?: Logger;
}

export interface ReconcileCertificatesResult {
  /** `Unchanged` when the decision was `None`. */
  outcome: WriteOutcome | 'Unchanged';
  action: CertificateAction;
  /** The Secret as it now stands (ours after a write, the winner's after a conflict). */
  secret: V1Secret | undefined;
  /** What to serve and the caBundle to distribute, read from `secret`. */
  material: ServingMaterial | undefined;
  /** When to reconcile again at the latest (now, when another step is already due). */
  nextCheckAt: Date;
  warnings: string[];
}

function material(secret: V1Secret | undefined): ServingMaterial | undefined {
  if (!secret) return undefined;
  try {
    return parseServingMaterial(secret);
  } catch {
    return undefined;
  }
}

function distributed(input: ReconcileCertificatesInput, bundlePem: string): boolean {
  if (typeof input.bundleDistributed === 'boolean') return input.bundleDistributed;
  return bundlePem !== '' && input.bundleDistributed(bundlePem);
}

function followUp(input: ReconcileCertificatesInput, before: DecodedSecret, after: CertificateState): Date {
  const sameBundle = before.kind === 'Ready' && canonicalBundle(before.state) === canonicalBundle(after);
  const next = decideCertificateAction({
    now: input.now,
    stored: { kind: 'Ready', state: { ...after, storedBundlePem: canonicalBundle(after) }, warnings: [] },
    settings: input.settings,
    hosts: input.hosts,
    bundleDistributed: sameBundle && distributed(input, canonicalBundle(after)),
  });
  return next.kind === 'None' ? next.nextCheckAt : input.now;
}

/**
 * One certificate step, for the leader only: read the Secret, decide, perform at most one write
 * guarded by the read resourceVersion, and say what happened.
 */
export async function reconcileCertificates(
  input: ReconcileCertificatesInput,
): Promise<ReconcileCertificatesResult> {
  const log = input.logger;
  const current = await readCertificateSecret(input);
  const decoded = decodeSecret(current);
  const warnings = decoded.kind === 'Ready' ? decoded.warnings : [];
  for (const w of warnings) log?.warn({ warning: w }, 'certificate secret damaged');
  const bundleDistributed = decoded.kind === 'Ready' && distributed(input, decoded.state.storedBundlePem);
  const action = decideCertificateAction({ ...input, stored: decoded, bundleDistributed });
  if (action.kind === 'None') {
    return {
      outcome: 'Unchanged',
      action,
      secret: current,
      material: material(current),
      nextCheckAt: action.nextCheckAt,
      warnings,
    };
  }
  const next = await applyCertificateAction(action, decoded, input);
  if (!next) throw new Error(`action ${action.kind} produced no state`);
  const written = await writeCertificateSecret(input, next, current);
  const fields = {
    action: action.kind,
    reason: action.reason,
    outcome: written.outcome,
    phase: phaseOf(next),
    caNotAfter: next.ca.info.notAfter.toISOString(),
    leafNotAfter: next.leaf.info.notAfter.toISOString(),
  };
  if (written.outcome === 'Conflict') log?.info(fields, 'certificate secret changed by another writer');
  else log?.info(fields, 'certificates updated');
  return {
    outcome: written.outcome,
    action,
    secret: written.secret,
    material: material(written.secret),
    nextCheckAt: written.outcome === 'Conflict' ? input.now : followUp(input, decoded, next),
    warnings,
  };
}
