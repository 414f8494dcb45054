import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  API_VERSION,
  KIND,
  policyPath,
  type SidecarPolicy,
  type SidecarPolicyStatus,
} from '../../api/index.js';
import {
  applyStatus,
  isNotFound,
  stepFailure,
  type EventRecorder,
  type StepFailure,
} from '../../kube/index.js';
import { statusChanged, transitionEvents, type ConditionInput } from '../../status/index.js';
import { WrittenStatus } from './written-status.js';

export async function applyPolicyStatus(
  kc: KubeConfig,
  name: string,
  status: SidecarPolicyStatus,
): Promise<void> {
  await applyStatus(kc, policyPath(name), {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name },
    status,
  });
}

/**
 * Writes a policy's status only when it changed (what prevents hot loops), then records the
 * transitions as Events. Remembers what it wrote, so a reconcile that runs before the watch
 * delivered the write compares with it rather than with the older cached status.
 */
export class PolicyStatusWriter {
  private readonly written = new WrittenStatus();

  constructor(
    private readonly kc: KubeConfig,
    private readonly events: EventRecorder,
  ) {}

  /** The policy with the status last written, if the cache still shows an older one. */
  current(policy: SidecarPolicy): SidecarPolicy {
    return this.written.current(policy);
  }

  forget(name: string): void {
    this.written.forget(name);
  }

  /** `inputs`: the conditions just computed, Ready first. */
  async write(
    policy: SidecarPolicy,
    status: SidecarPolicyStatus,
    inputs: ConditionInput[],
    log: Logger,
  ): Promise<StepFailure | undefined> {
    if (!statusChanged(policy.status, status)) return undefined;
    const name = policy.metadata?.name ?? '';
    try {
      await applyPolicyStatus(this.kc, name, status);
    } catch (err) {
      // Deleted since the cache saw it: nothing to report on, its deletion comes through the watch.
      if (isNotFound(err)) return undefined;
      return stepFailure('status', { kind: KIND, name }, err);
    }
    this.written.remember(policy, status);
    log.info(
      { revision: status.revision, namespaces: status.namespaces, ready: inputs[0]?.status },
      'status updated',
    );
    const ref = { name, uid: policy.metadata?.uid ?? '' };
    for (const e of transitionEvents(policy.status, status, inputs))
      this.events.record(ref, e.type, e.reason, e.message);
    return undefined;
  }
}
