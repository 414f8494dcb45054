import { join } from 'node:path';
import { POLICY_LABEL } from '../../api/index.js';
import { eventually } from '../envtest/eventually.js';
import {
  apply,
  installChart,
  inPodNetns,
  isReady,
  kubectl,
  proxyCounters,
  startCluster,
  waitForPods,
  type Cluster,
} from '../envtest/node-tools.js';
import { OPERATOR_NAMESPACE, type DemoOptions, type DemoSession } from './run-demo.js';
import { formatMs } from './style.js';

const NAMESPACE = 'demo';

const workload = (c: Cluster): string => `
apiVersion: sidecar.dev/v1alpha1
kind: SidecarPolicy
metadata: {name: demo}
spec:
  selector: {namespaces: [${NAMESPACE}]}
  injection: {sidecarMode: Native, failurePolicy: Fail, timeoutSeconds: 10}
  proxy:
    image: ${c.images.proxy}
    resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${NAMESPACE}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: server, namespace: ${NAMESPACE}}
spec:
  selector: {matchLabels: {app: server}}
  template:
    metadata: {labels: {app: server}}
    spec:
      containers:
        - name: app
          image: ${c.images.app}
          imagePullPolicy: Never
          args: [serve, -port, "8080"]
          env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: ${NAMESPACE}}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
`;

/**
 * The demo on a real node: the chart installs the operator from its image, a policy injects a
 * Deployment whose pod runs on the kubelet, and a client pod's request crosses both proxies.
 */
export async function runNodeDemo(opts: DemoOptions): Promise<DemoSession> {
  const { style: s, write } = opts;
  const started = Date.now();
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    write(`${s.cyan('▸')} ${label} …\n`);
    const v = await fn();
    write(`  ${s.green('✓')} ${label} ${s.dim(`(${formatMs(Date.now() - t0)})`)}\n`);
    return v;
  };
  const c = await step(
    'build the images, start the control plane and a node (kubelet, containerd, kube-proxy)',
    () => startCluster({ log: () => undefined }),
  );
  const stop = (): Promise<void> => c.node.stop();
  try {
    write(
      `    kube-apiserver ${c.info.serverVersion} at ${c.info.server}, node ${c.info.nodeName} (${c.info.nodeIP})\n`,
    );
    await step(
      `helm install the chart (namespace ${OPERATOR_NAMESPACE}, image ${c.images.operator})`,
      async () => {
        const r = await installChart(c, 'sidecar-operator', OPERATOR_NAMESPACE);
        if (r.code !== 0) throw new Error(`helm install: ${r.stderr}`);
      },
    );
    const pod = await step(
      'apply a SidecarPolicy, a Deployment and its Service; wait for the pod to be Ready',
      async () => {
        const docs = workload(c).split('\n---\n');
        await apply(c, docs.slice(0, 2).join('\n---\n'));
        // Pods created before the policy governs the namespace would miss the webhook.
        await eventually(
          async () => {
            const ns = await c.core.readNamespace({ name: NAMESPACE });
            const mwc = (await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'name')).stdout.trim();
            return ns.metadata?.labels?.[POLICY_LABEL] === 'demo' && mwc ? true : undefined;
          },
          { what: 'the namespace governed and the webhook configured', timeoutMs: 60_000 },
        );
        await apply(c, docs.slice(2).join('\n---\n'));
        const [p] = await waitForPods(
          c,
          NAMESPACE,
          'app=server',
          (ps) => ps.length === 1 && ps.every(isReady),
          'the server pod Ready',
          180_000,
        );
        return p!;
      },
    );
    const svc = await c.core.readNamespacedService({ name: 'server', namespace: NAMESPACE });
    const url = `http://${svc.spec!.clusterIP}/`;
    const client = await step(`run a client pod that GETs ${url}`, async () => {
      await apply(
        c,
        `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${NAMESPACE}, labels: {app: client}}
spec:
  restartPolicy: Never
  containers: [{name: app, image: ${c.images.app}, imagePullPolicy: Never, args: [get, -linger, 1h, "${url}"]}]
`,
      );
      const [p] = await waitForPods(
        c,
        NAMESPACE,
        'app=client',
        (ps) => ps.length === 1 && isReady(ps[0]!),
        'the client pod Running',
      );
      await eventually(
        async () =>
          (await kubectl(c, 'logs', '-n', NAMESPACE, 'client', '-c', 'app')).stdout.includes('done')
            ? true
            : undefined,
        {
          what: 'the request',
          timeoutMs: 60_000,
        },
      );
      return p!;
    });
    const pods = await kubectl(c, 'get', 'pods', '-n', NAMESPACE, '-o', 'wide');
    write(`\n${s.bold(`kubectl get pods -n ${NAMESPACE} -o wide`)}\n${pods.stdout}\n`);
    const containers = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]
      .map(
        (x) =>
          `${x.name}: ${x.state?.running ? 'running' : x.state?.terminated ? `exited ${x.state.terminated.exitCode}` : 'waiting'}${x.ready ? ', ready' : ''}`,
      )
      .join('\n  ');
    write(`${s.bold(`pod ${pod.metadata?.name}`)}\n  ${containers}\n\n`);
    const proxyLog = await kubectl(c, 'logs', '-n', NAMESPACE, pod.metadata!.name!, '-c', 'sidecar-proxy');
    const ready = proxyLog.stdout.split('\n').find((l) => l.includes('"msg":"proxy ready"'));
    if (ready) {
      const r = JSON.parse(ready) as Record<string, unknown>;
      write(
        `${s.bold('the proxy’s configuration')}\n  sidecar-init wrote ${String(r.config)} (${String(r.config_bytes)} bytes, rendered by the operator); the proxy took its listeners from it: outbound ${String(r.outbound)}, inbound ${String(r.inbound)}, health ${String(r.health)}, metrics ${String(r.metrics)}\n\n`,
      );
    }
    const rules = inPodNetns(c, pod, 'app', ['iptables-save', '-t', 'nat'])
      .split('\n')
      .filter((l) => l.startsWith('-A SIDECAR') || l.includes('REDIRECT'));
    write(
      `${s.bold('nat rules sidecar-init wrote in the pod’s network namespace')}\n  ${rules.join('\n  ')}\n\n`,
    );
    const answer = (await kubectl(c, 'logs', '-n', NAMESPACE, 'client', '-c', 'app')).stdout.trim();
    const [out, inn] = [await proxyCounters(client), await proxyCounters(pod)];
    write(`${s.bold('the request')}\n  client got: ${answer.split('\n')[0]}\n`);
    write(
      `  client proxy: ${out.outbound} outbound connection(s); server proxy: ${inn.inbound} inbound (the request and the kubelet's probes)\n`,
    );
    write(`\n${s.green('a request crossed both proxies')} — total ${formatMs(Date.now() - started)}\n`);
    return {
      kubeconfigPath: c.info.adminKubeconfigPath,
      server: c.info.server,
      logPath: join(c.node.dir, 'kubelet.log'),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
