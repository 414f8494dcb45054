import type { SidecarPolicy, SidecarPolicyStatus } from '../../api/index.js';

interface Written {
  uid: string;
  /** resourceVersion of the object the status was computed from. */
  basedOn: string;
  status: SidecarPolicyStatus;
}

/**
 * The status this replica last wrote for each policy. A reconcile that runs before the watch has
 * delivered that write (our own ConfigMap or namespace writes queue the policy again at once) sees
 * the older status in the cache: compared with it, the same status looks new, is written again and
 * records its transitions (`Rendered`…) a second time. While the cache still shows the very object
 * the write was computed from, the status we wrote is the current one; any other object in the
 * cache (our write come back, or a later change) is newer, and wins.
 */
export class WrittenStatus {
  private readonly byName = new Map<string, Written>();

  /** `policy` with the freshest status known to this replica. */
  current(policy: SidecarPolicy): SidecarPolicy {
    const w = this.byName.get(policy.metadata?.name ?? '');
    if (!w || w.uid !== policy.metadata?.uid || w.basedOn !== policy.metadata?.resourceVersion) return policy;
    return { ...policy, status: w.status };
  }

  /** After a successful write of `status`, computed from `policy` as cached. */
  remember(policy: SidecarPolicy, status: SidecarPolicyStatus): void {
    this.byName.set(policy.metadata?.name ?? '', {
      uid: policy.metadata?.uid ?? '',
      basedOn: policy.metadata?.resourceVersion ?? '',
      status,
    });
  }

  forget(name: string): void {
    this.byName.delete(name);
  }
}
