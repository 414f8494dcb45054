import type { V1ContainerStatus } from '@kubernetes/client-node';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME, findProxy, parseStatus } from '../inject/index.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs, OperatorWorkload, PodInputs } from './inputs.js';

/** Waiting reasons that mean the image itself cannot be had (the kubelet's names). */
const IMAGE_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'RegistryUnavailable',
]);

const quote = (s: string): string => JSON.stringify(s.length > 300 ? `${s.slice(0, 300)}…` : s);

/**
 * What keeps one container from running, in a phrase; undefined when it runs (or ran to exit 0, for
 * an init container that must). `logTail` is the end of its log (its previous run's, after a crash).
 */
export function containerTrouble(s: V1ContainerStatus, logTail?: string): string | undefined {
  const waiting = s.state?.waiting;
  const detail = waiting?.message ? `: ${waiting.message}` : '';
  if (waiting?.reason !== undefined && IMAGE_REASONS.has(waiting.reason))
    return `its image ${s.image} cannot be pulled (${waiting.reason}${detail})`;
  const exited = exitTrouble(s, logTail);
  if (exited !== undefined) return exited;
  if (waiting?.reason !== undefined && !STARTING.has(waiting.reason))
    return `it is waiting: ${waiting.reason}${detail}`;
  return undefined;
}

const STARTING = new Set(['PodInitializing', 'ContainerCreating']);

/** A non-zero exit: the container's own, or its last run's while it waits to restart. */
function exitTrouble(s: V1ContainerStatus, logTail?: string): string | undefined {
  const ended = s.state?.terminated ?? (s.state?.waiting ? s.lastState?.terminated : undefined);
  if (!ended || ended.exitCode === 0) return undefined;
  const line = logTail?.trim().split('\n').pop();
  const said = line ? `; its last log line: ${quote(line)}` : '';
  const times = s.restartCount > 0 ? `, restarted ${s.restartCount} time(s)` : '';
  const why = ended.reason ? ` (${ended.reason})` : '';
  return `it exits with code ${ended.exitCode}${why}${times}${said}`;
}

/**
 * Whether the injected sidecar of the pod actually runs: sidecar-init exited 0, and the proxy is
 * running and ready. A proxy that cannot start keeps a Native pod in Init forever and a Classic pod
 * unready; this says which container and why, from the kubelet's own account.
 */
export function checkSidecarRuntime(inputs: DoctorInputs): CheckResult | undefined {
  const target = inputs.pod;
  const pod = target?.pod;
  if (!pod || !findProxy(pod.spec) || parseStatus(pod.metadata?.annotations) === undefined) return undefined;
  const ns = pod.metadata?.namespace ?? inputs.namespace?.name ?? 'default';
  const podName = pod.metadata?.name ?? target.name;
  const at: Subject = { name: `sidecar-running:${ns}/${podName}`, ns, pod: podName, inputs: target };
  // Not started on a node yet (unscheduled, or no kubelet): nothing to say about the sidecar.
  if (
    statusOf(target, INIT_CONTAINER_NAME) === undefined &&
    statusOf(target, PROXY_CONTAINER_NAME) === undefined
  )
    return undefined;
  const init = statusOf(target, INIT_CONTAINER_NAME);
  const initTrouble = init && containerTrouble(init, target.logs?.[INIT_CONTAINER_NAME]);
  if (initTrouble)
    return fail(
      'SO170',
      at.name,
      `${INIT_CONTAINER_NAME} cannot set up the pod: ${initTrouble}; the proxy and the application never start`,
      `read ${logsOf(at, INIT_CONTAINER_NAME)} --previous; it needs NET_ADMIN and NET_RAW (Pod Security baseline refuses them) and the iptables program in its image`,
    );
  const proxy = proxyRuntime(at);
  if (proxy.status !== 'pass' || !init) return proxy;
  return pass(at.name, `${INIT_CONTAINER_NAME} exited 0; ${proxy.reason}`);
}

interface Subject {
  /** The check's name. */
  name: string;
  ns: string;
  pod: string;
  inputs: PodInputs;
}

const logsOf = (at: Subject, container: string): string =>
  `kubectl logs -n ${at.ns} ${at.pod} -c ${container}`;

function statusOf(target: PodInputs, container: string): V1ContainerStatus | undefined {
  const all = [...(target.status?.initContainerStatuses ?? []), ...(target.status?.containerStatuses ?? [])];
  return all.find((s) => s.name === container);
}

function proxyRuntime(at: Subject): CheckResult {
  const proxy = statusOf(at.inputs, PROXY_CONTAINER_NAME);
  if (!proxy) {
    const phase = at.inputs.status?.phase ?? 'Pending';
    return warn(
      'SO171',
      at.name,
      `the proxy has not started yet (pod ${phase})`,
      `kubectl describe pod -n ${at.ns} ${at.pod}`,
    );
  }
  const trouble = containerTrouble(proxy, at.inputs.logs?.[PROXY_CONTAINER_NAME]);
  if (trouble)
    return fail(
      'SO172',
      at.name,
      `the proxy cannot start: ${trouble}; the pod's traffic goes nowhere and it will not become ready`,
      `read ${logsOf(at, PROXY_CONTAINER_NAME)} --previous, and the configuration it gets (sidecar-operator proxy-config bootstrap --pod ${at.pod} -n ${at.ns}); check the policy's spec.proxy`,
    );
  const restarts = proxy.restartCount > 0 ? ` (restarted ${proxy.restartCount} time(s))` : '';
  if (!proxy.ready)
    return warn(
      'SO173',
      at.name,
      `the proxy runs but is not ready${restarts}: its readiness endpoint answers no`,
      `read ${logsOf(at, PROXY_CONTAINER_NAME)}`,
    );
  return pass(at.name, `the proxy is running and ready${restarts}`);
}

/**
 * The operator's Deployment when it runs in the cluster: replicas wanted and ready, and the webhook
 * Service's ready endpoints. A Deployment scaled to 0 (or none of whose replicas are ready) means no
 * webhook and no reconcile, whatever the ConfigMap still says.
 */
export function checkOperatorWorkload(inputs: DoctorInputs): CheckResult | undefined {
  const w = inputs.workload;
  if (!w || (w.deployments.length === 0 && w.service === undefined)) return undefined;
  const ns = inputs.operatorNamespace ?? '';
  const name = 'operator-replicas';
  const consequence = failClosed(inputs);
  const service = w.service;
  if (w.deployments.length === 0)
    return service && service.readyEndpoints === 0
      ? fail(
          'SO115',
          name,
          `the webhook Service ${ns}/${service.name} has no ready endpoints and no operator Deployment was found in ${ns}: ${consequence}`,
        )
      : undefined;
  const results = w.deployments.map((d) => deploymentResult(name, ns, d, consequence));
  const bad = results.find((r) => r.status !== 'pass') ?? results[0]!;
  if (bad.status !== 'pass') return bad;
  if (service && service.readyEndpoints === 0)
    return fail(
      'SO115',
      name,
      `the operator's replicas are ready, but the webhook Service ${ns}/${service.name} has no ready endpoints: ${consequence}`,
      `compare the Service's selector with the pods' labels (kubectl get endpointslices -n ${ns} -l kubernetes.io/service-name=${service.name})`,
    );
  const endpoints = service ? `; the webhook Service has ${service.readyEndpoints} ready endpoint(s)` : '';
  return pass(name, `${bad.reason}${endpoints}`);
}

function deploymentResult(
  name: string,
  ns: string,
  d: OperatorWorkload['deployments'][number],
  consequence: string,
): CheckResult {
  const scale = `kubectl scale deployment/${d.name} -n ${ns} --replicas=2 (or helm upgrade with the chart's replicaCount)`;
  if (d.replicas === 0)
    return fail(
      'SO112',
      name,
      `Deployment ${ns}/${d.name} is scaled to 0: no replica serves the webhook or reconciles policies; ${consequence}`,
      scale,
    );
  const why = d.problems.length > 0 ? `: ${d.problems.join('; ')}` : '';
  if (d.ready === 0)
    return fail(
      'SO113',
      name,
      `Deployment ${ns}/${d.name} has 0 of ${d.replicas} replicas ready${why}; ${consequence}`,
      `kubectl describe pods -n ${ns}; kubectl logs -n ${ns} deploy/${d.name}`,
    );
  if (d.ready < d.replicas)
    return warn(
      'SO114',
      name,
      `Deployment ${ns}/${d.name} has ${d.ready} of ${d.replicas} replicas ready${why}`,
      `kubectl describe pods -n ${ns}`,
    );
  return pass(name, `Deployment ${ns}/${d.name}: ${d.ready}/${d.replicas} replicas ready`);
}

/** What a missing webhook does to pods, by the failure policies of the configurations in scope. */
function failClosed(inputs: DoctorInputs): string {
  const hooks = inputs.webhookConfigurations.flatMap((m) => m.webhooks ?? []);
  const closed = hooks.filter((h) => (h.failurePolicy ?? 'Fail') === 'Fail').length;
  if (hooks.length === 0) return 'pods are created without a sidecar';
  if (closed === hooks.length)
    return 'the API server refuses every pod in governed namespaces (failurePolicy Fail)';
  if (closed === 0) return 'pods in governed namespaces are created without a sidecar (failurePolicy Ignore)';
  return `pods are refused where failurePolicy is Fail (${closed} of ${hooks.length} webhooks) and created without a sidecar elsewhere`;
}
