import { Gauge, type Registry } from 'prom-client';
import type { SidecarPolicy } from '../../api/index.js';
import { POD_STATES, policyGauges } from '../../status/index.js';

export const POLICY_METRICS = {
  ready: 'sidecar_policy_ready',
  conflict: 'sidecar_policy_conflict',
  namespaces: 'sidecar_policy_namespaces',
  pods: 'sidecar_policy_pods',
} as const;

/**
 * The policies whose status this replica's controller reads, or undefined when it does not lead
 * (or its caches have not synced): then no per-policy series is exported at all.
 */
export type PolicySource = () => readonly SidecarPolicy[] | undefined;

/**
 * Per-policy gauges computed at scrape time from the leader's policy cache (the status the leader
 * wrote). Only the leader exports them, so that a sum over replicas never counts a policy twice and a
 * follower never exports a view that nobody updates; a deleted policy's series disappear at the next
 * scrape. Registered once per registry: the source is asked at every scrape.
 */
export function registerPolicyMetrics(registry: Registry, source: PolicySource): void {
  if (registry.getSingleMetric(POLICY_METRICS.ready)) return;
  const registers = [registry];
  // Each gauge reads the cache itself (a list of the cached policies): one may be collected alone.
  const rows = () => {
    const policies = source();
    return policies ? policyGauges(policies) : [];
  };
  new Gauge({
    name: POLICY_METRICS.ready,
    help: '1 when the policy is Ready (in force), else 0. Exported by the leader only.',
    labelNames: ['policy'],
    registers,
    collect() {
      this.reset();
      for (const r of rows()) this.labels(r.policy).set(r.ready);
    },
  });
  new Gauge({
    name: POLICY_METRICS.conflict,
    help: '1 when another policy of higher precedence governs a namespace this policy selects, else 0.',
    labelNames: ['policy'],
    registers,
    collect() {
      this.reset();
      for (const r of rows()) this.labels(r.policy).set(r.conflict);
    },
  });
  new Gauge({
    name: POLICY_METRICS.namespaces,
    help: 'Namespaces the policy governs.',
    labelNames: ['policy'],
    registers,
    collect() {
      this.reset();
      for (const r of rows()) if (r.namespaces !== undefined) this.labels(r.policy).set(r.namespaces);
    },
  });
  new Gauge({
    name: POLICY_METRICS.pods,
    help: 'Pods of governed namespaces by state: injected (every pod with the sidecar, outdated ones included), outdated (injected with an older revision), uninjected. No series when pods are not counted.',
    labelNames: ['policy', 'state'],
    registers,
    collect() {
      this.reset();
      for (const r of rows()) {
        if (!r.pods) continue;
        for (const s of POD_STATES) this.labels(r.policy, s).set(r.pods[s]);
      }
    },
  });
}
