import {
  caGeneration,
  createCA,
  inspectCertificate,
  issueServingCertificate,
  type KeyPairPem,
  type ServingHosts,
} from './authority.js';
import type { CertificateAction, CertificateSettings } from './schedule.js';
import type { DecodedSecret } from './secret-format.js';
import type { CertificateState, StoredKeyPair } from './state.js';

export interface TransitionContext {
  now: Date;
  settings: Pick<CertificateSettings, 'caLifetimeMs' | 'leafLifetimeMs' | 'keyAlgorithm'>;
  hosts: ServingHosts;
}

function stored(pair: KeyPairPem): StoredKeyPair {
  return { ...pair, info: inspectCertificate(pair.certPem) };
}

function later(a: Date | undefined, b: Date): Date {
  return a === undefined || a < b ? b : a;
}

async function issueLeaf(ca: KeyPairPem, ctx: TransitionContext): Promise<StoredKeyPair> {
  return stored(
    await issueServingCertificate({
      ca,
      hosts: ctx.hosts,
      now: ctx.now,
      lifetimeMs: ctx.settings.leafLifetimeMs,
      keyAlgorithm: ctx.settings.keyAlgorithm,
    }),
  );
}

async function issueAll(generation: number, ctx: TransitionContext): Promise<CertificateState> {
  const ca = stored(
    await createCA({
      generation,
      now: ctx.now,
      lifetimeMs: ctx.settings.caLifetimeMs,
      keyAlgorithm: ctx.settings.keyAlgorithm,
    }),
  );
  const leaf = await issueLeaf(ca, ctx);
  return { ca, leaf, signedLeavesExpireAt: leaf.info.notAfter, storedBundlePem: '' };
}

function nextGeneration(state: CertificateState | undefined): number {
  if (!state) return 1;
  return Math.max(caGeneration(state.ca.info), state.nextCA ? caGeneration(state.nextCA.info) : 0) + 1;
}

/**
 * Performs `action` on the stored state and returns the state to write (undefined for `None`).
 * Pure apart from key generation: every time comes from `ctx.now`.
 */
export async function applyCertificateAction(
  action: CertificateAction,
  current: DecodedSecret,
  ctx: TransitionContext,
): Promise<CertificateState | undefined> {
  const state = current.kind === 'Ready' ? current.state : undefined;
  if (action.kind === 'None') return undefined;
  if (action.kind === 'Issue') return issueAll(nextGeneration(state), ctx);
  if (!state) throw new Error(`${action.kind} needs readable certificates`);
  switch (action.kind) {
    case 'RepairBundle':
      return { ...state };
    case 'RenewLeaf': {
      const leaf = await issueLeaf(state.ca, ctx);
      // Without a record of earlier leaves, leave it unknown: pruning then waits for the CA's expiry.
      const signedLeavesExpireAt =
        state.signedLeavesExpireAt && later(state.signedLeavesExpireAt, leaf.info.notAfter);
      return { ...state, leaf, signedLeavesExpireAt };
    }
    case 'StartCARotation': {
      const nextCA = stored(
        await createCA({
          generation: nextGeneration(state),
          now: ctx.now,
          lifetimeMs: ctx.settings.caLifetimeMs,
          keyAlgorithm: ctx.settings.keyAlgorithm,
        }),
      );
      return { ...state, nextCA, rotationStartedAt: ctx.now };
    }
    case 'SwitchLeaf': {
      if (!state.nextCA) throw new Error('SwitchLeaf needs a next CA');
      const retired = state.ca;
      const leaf = await issueLeaf(state.nextCA, ctx);
      const lastOldLeaf = later(
        state.signedLeavesExpireAt ?? retired.info.notAfter,
        state.leaf.info.notAfter,
      );
      const pruneAfter = lastOldLeaf < retired.info.notAfter ? lastOldLeaf : retired.info.notAfter;
      return {
        ca: state.nextCA,
        previousCA: { certPem: retired.certPem, info: retired.info },
        pruneAfter,
        leaf,
        signedLeavesExpireAt: leaf.info.notAfter,
        storedBundlePem: state.storedBundlePem,
      };
    }
    case 'PruneOldCA':
      return { ...state, previousCA: undefined, pruneAfter: undefined };
  }
}
