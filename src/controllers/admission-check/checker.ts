import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { POLICY_LABEL } from '../../api/index.js';
import { canonicalJson, type CompiledTemplate } from '../../inject/index.js';
import { apiFailure, requestJson, type ApiFailure, type EventRecorder } from '../../kube/index.js';
import { EventReason, type NamespaceVerdict } from '../../status/index.js';
import { representativePod } from './representative-pod.js';
import { verdictOf } from './verdict.js';

export interface AdmissionCheckerOptions {
  kc: KubeConfig;
  log: Logger;
  operatorNamespace: string;
  events: EventRecorder;
  registry: Registry;
  clock: () => Date;
  /** A verdict of this policy changed: reconcile it (its condition follows). */
  onChange: (policy: string) => void;
  /** Dry runs in flight at once, over every policy (default 4). */
  concurrency?: number;
  /** A verdict is trusted this long, then checked again at the next reconcile (default 10 min). */
  maxAgeMs?: number;
  /** A check that got no verdict is tried again after this (default 30 s). */
  retryAfterMs?: number;
}

interface Result {
  fingerprint: string;
  verdict: NamespaceVerdict;
  at: number;
}

interface Entry {
  /** What the namespace and policy are now: a result for anything else is stale. */
  wanted: string;
  result?: Result;
  /** The fingerprint being checked right now. */
  running?: string;
}

interface Job {
  policy: { name: string; uid: string };
  namespace: string;
  fingerprint: string;
  labels: Record<string, string> | undefined;
  template: CompiledTemplate;
}

export interface ObservedNamespace {
  namespace: string;
  verdict?: NamespaceVerdict;
}

const METRIC = 'sidecar_admission_checks_total';

function checksCounter(registry: Registry): Counter<'result'> {
  const existing = registry.getSingleMetric(METRIC) as Counter<'result'> | undefined;
  return (
    existing ??
    new Counter({
      name: METRIC,
      help: 'Dry-run creates of a representative injected pod, by verdict (admitted, refused, unknown)',
      labelNames: ['result'],
      registers: [registry],
    })
  );
}

/**
 * What matters of a namespace and policy for the verdict: the policy's revision, the namespace's
 * labels (Pod Security's among them; our own mark aside, which the same reconcile may be writing) and
 * the CA the API server trusts for the policy's webhook (a dry run calls it: before cainjector or a
 * rotation writes the caBundle, the call fails, and that verdict must not outlive the fix).
 */
function fingerprintOf(revision: string, ns: V1Namespace, webhook: string): string {
  const { [POLICY_LABEL]: _mark, ...labels } = ns.metadata?.labels ?? {};
  return canonicalJson({ revision, labels, webhook });
}

/**
 * Whether the API server would admit a policy's pods, namespace by namespace: a server-side dry-run
 * create (`dryRun=All`, nothing persisted) of a representative pod injected with the policy's
 * template. Verdicts are cached per policy and namespace against the revision and the namespace's
 * labels, and trusted for `maxAgeMs` (quotas, LimitRanges and other webhooks change without the
 * namespace changing); checks run in the background, a few at a time, and a changed verdict
 * reconciles the policy. A reconcile reads what is known without waiting.
 */
export class AdmissionChecker {
  private readonly policies = new Map<string, Map<string, Entry>>();
  private readonly queue = new Map<string, Job>();
  private running = 0;
  private stopped = false;
  /** Policies to reconcile again once an unknown verdict is stale (so that it is checked again). */
  private readonly retries = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly checks: Counter<'result'>;

  constructor(private readonly o: AdmissionCheckerOptions) {
    this.checks = checksCounter(o.registry);
  }

  /**
   * The verdict known for each governed namespace (undefined: not checked yet); schedules a check
   * where there is none, or it is stale. While a namespace is checked again its last verdict stands.
   */
  observe(
    policy: { name: string; uid: string },
    template: CompiledTemplate,
    namespaces: readonly V1Namespace[],
    /** What the API server trusts of the policy's webhook (its caBundles): part of every verdict. */
    webhook = '',
  ): ObservedNamespace[] {
    let entries = this.policies.get(policy.name);
    if (!entries) this.policies.set(policy.name, (entries = new Map<string, Entry>()));
    const governed = new Set(namespaces.map((n) => n.metadata?.name ?? ''));
    for (const name of entries.keys()) if (!governed.has(name)) entries.delete(name);
    const now = this.o.clock().getTime();
    return namespaces.map((ns) => {
      const namespace = ns.metadata?.name ?? '';
      const fingerprint = fingerprintOf(template.revision, ns, webhook);
      let e = entries.get(namespace);
      if (!e) entries.set(namespace, (e = { wanted: fingerprint }));
      e.wanted = fingerprint;
      if (!this.fresh(e.result, fingerprint, now) && e.running !== fingerprint) {
        this.queue.set(`${policy.name}/${namespace}`, {
          policy,
          namespace,
          fingerprint,
          labels: ns.metadata?.labels,
          template,
        });
      }
      return e.result ? { namespace, verdict: e.result.verdict } : { namespace };
    });
  }

  /** Starts what the queue allows; call after observe. */
  kick(): void {
    while (!this.stopped && this.running < (this.o.concurrency ?? 4) && this.queue.size > 0) {
      const [key, job] = this.queue.entries().next().value as [string, Job];
      this.queue.delete(key);
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.kick();
      });
    }
  }

  /** The policy is gone: its verdicts and queued checks too. */
  forget(policy: string): void {
    clearTimeout(this.retries.get(policy));
    this.retries.delete(policy);
    this.policies.delete(policy);
    for (const [key, job] of this.queue) if (job.policy.name === policy) this.queue.delete(key);
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
  }

  private fresh(result: Result | undefined, fingerprint: string, now: number): boolean {
    if (!result || result.fingerprint !== fingerprint) return false;
    const maxAge =
      result.verdict.state === 'unknown' ? (this.o.retryAfterMs ?? 30_000) : (this.o.maxAgeMs ?? 600_000);
    return now - result.at < maxAge;
  }

  private async run(job: Job): Promise<void> {
    const entry = () => this.policies.get(job.policy.name)?.get(job.namespace);
    const started = entry();
    if (!started || started.wanted !== job.fingerprint) return;
    started.running = job.fingerprint;
    let verdict: NamespaceVerdict;
    try {
      verdict = verdictOf(await this.dryRun(job), job.labels, job.policy.name);
    } catch (err) {
      verdict = { state: 'unknown', message: `not checked: ${(err as Error).message}` };
    }
    this.checks.inc({ result: verdict.state });
    const e = entry();
    if (e?.running === job.fingerprint) e.running = undefined;
    if (this.stopped || !e || e.wanted !== job.fingerprint) return;
    const before = e.result?.verdict;
    e.result = { fingerprint: job.fingerprint, verdict, at: this.o.clock().getTime() };
    // Nothing else would look again before the next resync: the policy is reconciled once the
    // unknown verdict is stale, which checks the namespace again.
    if (verdict.state === 'unknown') this.retryLater(job.policy.name);
    if (canonicalJson(before ?? null) === canonicalJson(verdict)) return;
    this.o.log.debug({ policy: job.policy.name, namespace: job.namespace, verdict }, 'admission verdict');
    this.record(job, before, verdict);
    this.o.onChange(job.policy.name);
  }

  private retryLater(policy: string): void {
    if (this.retries.has(policy)) return;
    const timer = setTimeout(
      () => {
        this.retries.delete(policy);
        if (!this.stopped) this.o.onChange(policy);
      },
      // Just past the verdict's freshness, so that the reconcile finds it stale.
      (this.o.retryAfterMs ?? 30_000) + 100,
    );
    timer.unref?.();
    this.retries.set(policy, timer);
  }

  /** The API server's answer to a dry-run create: undefined when admitted. */
  private async dryRun(job: Job): Promise<ApiFailure | undefined> {
    const pod = representativePod(job.template, job.namespace, this.o.operatorNamespace);
    if (!pod) return undefined;
    try {
      await requestJson(this.o.kc, {
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(job.namespace)}/pods`,
        query: { dryRun: 'All' },
        body: pod,
        signal: AbortSignal.timeout(30_000),
      });
      return undefined;
    } catch (err) {
      return apiFailure(err);
    }
  }

  /** A namespace that starts refusing, or admits again after refusing: an Event on the policy. */
  private record(job: Job, before: NamespaceVerdict | undefined, after: NamespaceVerdict): void {
    const ns = job.namespace;
    if (after.state === 'refused') {
      const message = `the API server refuses this policy's pods in namespace ${ns}: ${after.message}`;
      this.o.events.record(job.policy, 'Warning', EventReason.PodsRefused, message);
    } else if (after.state === 'admitted' && before?.state === 'refused') {
      const message = `the API server admits this policy's pods in namespace ${ns} again`;
      this.o.events.record(job.policy, 'Normal', EventReason.PodsAdmitted, message);
    }
  }
}
