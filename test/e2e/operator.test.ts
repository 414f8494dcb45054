// The product on a real node: the chart installs the operator from its own image, the API server
// calls its webhook through the Service, injected pods start on the kubelet, and a request crosses
// both proxies. One cluster for the file; the tests run in order and build on each other.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { POLICY_LABEL } from '../../src/api/index.js';
import { eventually } from '../../src/dev/envtest/eventually.js';
import {
  apply,
  CHART,
  cli,
  helm,
  installChart,
  inPodNetns,
  isReady,
  kubectl,
  proxyCounters,
  ROOT,
  startCluster,
  waitForPods,
  type Cluster,
} from './support.js';

const OP_NS = 'sidecar-system';
const RELEASE = 'sidecar-operator';
const APP_NS = 'shop';
const POLICY = 'e2e';

let c: Cluster;

interface ExampleSpec {
  proxy?: Record<string, unknown>;
  volumes?: { secret?: { secretName: string }; configMap?: { name: string } }[];
  [key: string]: unknown;
}

const policyYaml = (extraEnv = ''): string => `
apiVersion: sidecar.dev/v1alpha1
kind: SidecarPolicy
metadata:
  name: ${POLICY}
spec:
  selector:
    namespaceSelector:
      matchLabels: {mesh: e2e}
  injection:
    sidecarMode: Native
    failurePolicy: Fail
    timeoutSeconds: 10
  proxy:
    image: ${c.images.proxy}
    resources:
      requests: {cpu: 10m, memory: 16Mi}
    env:
      - {name: E2E_GENERATION, value: "${extraEnv || '1'}"}
  interception:
    mode: REDIRECT
  rollout:
    strategy: Restart
    maxUnavailable: 1
`;

const appYaml = (): string => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${APP_NS}
  labels: {mesh: e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: server
  namespace: ${APP_NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: server}}
  template:
    metadata:
      labels: {app: server}
    spec:
      # Shorter than the proxy's drain pause: the injector fits the pause to it (the API server
      # refuses a preStop sleep that is not shorter than the grace period).
      terminationGracePeriodSeconds: 2
      containers:
        - name: app
          image: ${c.images.app}
          imagePullPolicy: Never
          args: [serve, -port, "8080"]
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
          ports: [{containerPort: 8080, name: http}]
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 2
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata:
  name: server
  namespace: ${APP_NS}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080, name: http}]
`;

/** `kubectl run` of the test application as pod `name` in `ns`, with kubectl's further `args`. */
const runApp = (name: string, ns: string, ...args: string[]) =>
  kubectl(c, 'run', name, '-n', ns, `--image=${c.images.app}`, ...args);

/**
 * doctor from this machine. Service names do not resolve here (no cluster DNS); the Service's
 * ClusterIP is reachable from the node, and doctor still checks the certificate for the Service's name.
 */
async function doctor(...args: string[]) {
  const svc = await c.core.readNamespacedService({ name: 'sidecar-operator', namespace: OP_NS });
  const url = `https://${svc.spec!.clusterIP}:443`;
  return cli(c, 'doctor', '--operator-namespace', OP_NS, '--webhook-url', url, ...args);
}

/** POST over TLS without a client certificate and without checking the server's (a forger's view). */
function postInsecure(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const started = (p: V1Pod, name: string): Date | undefined => {
  const s = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].find(
    (x) => x.name === name,
  );
  const at = s?.state?.running?.startedAt ?? s?.state?.terminated?.startedAt;
  return at ? new Date(at) : undefined;
};

beforeAll(async () => {
  c = await startCluster({ brokenPath: true });
}, 600_000);

afterAll(async () => {
  await c?.node.stop();
}, 120_000);

describe('on a real node', () => {
  it('an image without sidecar-operator on PATH fails the suite with a message that says so', async () => {
    const ns = 'broken-image';
    const tag = c.images.broken!.split(':').pop()!;
    const r = await helm(
      c,
      'install',
      'broken',
      CHART,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      `image.tag=${tag}`,
      '--set',
      'image.pullPolicy=Never',
      '--set',
      'replicaCount=1',
      '--set',
      'uninstall.enabled=false',
    );
    expect(r.code, r.stderr).toBe(0);
    await expect(
      waitForPods(
        c,
        ns,
        'app.kubernetes.io/name=sidecar-operator',
        (ps) => ps.length > 0 && ps.every(isReady),
        'the operator pods Ready',
        120_000,
      ),
    ).rejects.toThrow(/sidecar-operator.*executable file not found in \$PATH/);
    expect((await helm(c, 'uninstall', 'broken', '-n', ns, '--no-hooks', '--wait')).code).toBe(0);
    await c.core.deleteNamespace({ name: ns });
  });

  it('helm install: two operator replicas Running and Ready under the chart’s ServiceAccount, one leader', async () => {
    // The API server presents a client certificate to webhooks behind a Service (its
    // admission-control kubeconfig); the chart is given that certificate's CA.
    const t0 = Date.now();
    // rollout.enabled: a test below edits a policy with rollout strategy Restart.
    const r = await installChart(c, RELEASE, OP_NS, '--set', 'rollout.enabled=true');
    expect(r.code, r.stderr).toBe(0);
    console.log(`helm install --wait: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const pods = await waitForPods(
      c,
      OP_NS,
      'app.kubernetes.io/name=sidecar-operator',
      (ps) => ps.filter(isReady).length === 2,
      'two Ready operator pods',
    );
    const sa = (await c.core.listNamespacedServiceAccount({ namespace: OP_NS })).items.map(
      (s) => s.metadata!.name,
    );
    for (const p of pods) {
      expect(p.spec!.serviceAccountName).not.toBe('default');
      expect(sa).toContain(p.spec!.serviceAccountName);
      expect(p.spec!.containers[0]!.image).toBe(c.images.operator);
    }
    const leases = await kubectl(
      c,
      'get',
      'lease',
      '-n',
      OP_NS,
      '-o',
      'jsonpath={.items[*].spec.holderIdentity}',
    );
    const holders = leases.stdout.split(/\s+/).filter(Boolean);
    expect(holders.filter((h) => pods.some((p) => h.includes(p.metadata!.name!)))).toHaveLength(1);
  });

  it('a SidecarPolicy and a Deployment: pods injected by the API server calling the webhook through its Service', async () => {
    await apply(c, policyYaml());
    const [namespace, ...workloads] = appYaml().split('\n---\n');
    await apply(c, namespace!);
    // The Deployment's pods must meet the webhook: wait until the policy governs the namespace.
    await eventually(
      async () => {
        const ns = await c.core.readNamespace({ name: APP_NS });
        const mwc = (await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'name')).stdout.trim();
        return ns.metadata?.labels?.['sidecar.dev/policy'] === POLICY && mwc ? true : undefined;
      },
      { what: 'the namespace governed and the webhook configured', timeoutMs: 60_000 },
    );
    await apply(c, workloads.join('\n---\n'));
    const [pod] = await waitForPods(
      c,
      APP_NS,
      'app=server',
      (ps) => ps.length === 1 && ps.every(isReady),
      'the server pod Ready',
      180_000,
    );
    const p = pod!;
    const inits = (p.spec!.initContainers ?? []).map((x) => x.name);
    expect(inits).toEqual(['sidecar-init', 'sidecar-proxy']);
    // The webhook configuration's caBundle is the CA of the serving certificate the replicas use.
    const mwc = await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'json');
    const hooks = (
      JSON.parse(mwc.stdout) as {
        items: {
          webhooks: { clientConfig: { caBundle: string; service?: { name: string; namespace: string } } }[];
        }[];
      }
    ).items.flatMap((i) => i.webhooks);
    expect(hooks.length).toBeGreaterThan(0);
    const secrets = (await c.core.listNamespacedSecret({ namespace: OP_NS })).items;
    const caInSecret = secrets.map((s) => s.data?.['ca.crt']).filter(Boolean);
    for (const h of hooks) {
      expect(h.clientConfig.service?.namespace).toBe(OP_NS);
      expect(caInSecret).toContain(h.clientConfig.caBundle);
    }
  });

  it('only the API server is served: its reviews become Events; a forged review without its certificate gets 401 and no template', async () => {
    const events = await eventually(
      async () => {
        const list = await c.core.listNamespacedEvent({
          namespace: APP_NS,
          fieldSelector: 'reason=Injected',
        });
        return list.items.length > 0 ? list.items : undefined;
      },
      { what: 'an Injected Event in the application namespace', timeoutMs: 30_000 },
    );
    expect(events[0]!.involvedObject.kind).toBe('ReplicaSet');
    const svc = await c.core.readNamespacedService({ name: 'sidecar-operator', namespace: OP_NS });
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'forged',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: APP_NS,
        operation: 'CREATE',
        object: {
          metadata: { name: 'forged', namespace: APP_NS },
          spec: { containers: [{ name: 'a', image: 'x' }] },
        },
      },
    };
    const answer = await postInsecure(
      `https://${svc.spec!.clusterIP}:443/inject/${POLICY}`,
      JSON.stringify(review),
    );
    expect(answer.status).toBe(401);
    expect(answer.body).not.toContain('sidecar-proxy');
  });

  it('sidecar-init exited 0 and its rules are in the pod’s network namespace; the proxy started before the app', async () => {
    const [p] = (await c.core.listNamespacedPod({ namespace: APP_NS, labelSelector: 'app=server' })).items;
    const init = p!.status!.initContainerStatuses!.find((s) => s.name === 'sidecar-init')!;
    expect(init.state?.terminated?.exitCode).toBe(0);
    const rules = inPodNetns(c, p!, 'app', ['iptables-save', '-t', 'nat']);
    expect(rules).toMatch(/-j REDIRECT --to-ports 15001/);
    expect(rules).toMatch(/-j REDIRECT --to-ports 15006/);
    expect(rules).toMatch(/--uid-owner 1337/);
    // Native mode: the proxy is running and passed its startup probe before the app container started.
    expect(started(p!, 'sidecar-proxy')!.getTime()).toBeLessThanOrEqual(started(p!, 'app')!.getTime());
    const proxy = p!.status!.initContainerStatuses!.find((s) => s.name === 'sidecar-proxy')!;
    expect(proxy.started).toBe(true);
    expect(proxy.ready).toBe(true);
  });

  it('the proxy started from the file sidecar-init wrote, took its ports from it, and that file is what proxy-config bootstrap renders for the pod', async () => {
    const [p] = (await c.core.listNamespacedPod({ namespace: APP_NS, labelSelector: 'app=server' })).items;
    const name = p!.metadata!.name!;
    const proxy = p!.spec!.initContainers!.find((x) => x.name === 'sidecar-proxy')!;
    expect(proxy.args?.slice(0, 2)).toEqual(['--config-path', '/etc/sidecar/proxy/envoy.yaml']);
    // The fixture exits when the file is missing or lacks the outbound, inbound or health listener.
    const log = await kubectl(c, 'logs', '-n', APP_NS, name, '-c', 'sidecar-proxy');
    const ready = log.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'proxy ready');
    expect(ready).toMatchObject({
      config: '/etc/sidecar/proxy/envoy.yaml',
      outbound: 15001,
      inbound: 15006,
      health: 15021,
      metrics: 15090,
    });
    const rendered = await cli(c, 'proxy-config', 'bootstrap', '--pod', name, '-n', APP_NS);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout).toContain(`${name}.${APP_NS}`);
    expect(createHash('sha256').update(rendered.stdout).digest('hex')).toBe(ready!.config_sha256);
    expect(ready!.config_bytes).toBe(Buffer.byteLength(rendered.stdout));
  });

  it('a client’s request to the server Service crosses the client’s proxy (outbound) and the server’s (inbound); probes on the captured port pass', async () => {
    const svc = await c.core.readNamespacedService({ name: 'server', namespace: APP_NS });
    const url = `http://${svc.spec!.clusterIP}/`;
    const [server] = (await c.core.listNamespacedPod({ namespace: APP_NS, labelSelector: 'app=server' }))
      .items;
    await apply(
      c,
      `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${APP_NS}, labels: {app: client}}
spec:
  restartPolicy: Never
  containers:
    - name: app
      image: ${c.images.app}
      imagePullPolicy: Never
      args: [get, -count, "3", -linger, 1h, "${url}"]
`,
    );
    const [client] = await waitForPods(
      c,
      APP_NS,
      'app=client',
      (ps) => ps.length === 1 && isReady(ps[0]!),
      'the client pod Running',
    );
    const logs = await eventually(
      async () => {
        const r = await kubectl(c, 'logs', '-n', APP_NS, 'client', '-c', 'app');
        return r.stdout.includes('done') ? r.stdout : undefined;
      },
      { what: 'the client’s three requests', timeoutMs: 60_000 },
    );
    expect(logs.match(/^200 hello from server-/gm)).toHaveLength(3);
    const clientCounters = await proxyCounters(client!);
    expect(clientCounters.outbound).toBeGreaterThanOrEqual(1);
    // The server's proxy saw connections from the client pod's address (no masquerade on the way).
    const serverLog = await kubectl(c, 'logs', '-n', APP_NS, server!.metadata!.name!, '-c', 'sidecar-proxy');
    const fromClient = serverLog.stdout
      .split('\n')
      .filter(
        (l) =>
          l.includes('"event":"accepted"') &&
          l.includes('"direction":"inbound"') &&
          l.includes(`"source":"${client!.status!.podIP}:`),
      );
    expect(fromClient.length).toBeGreaterThanOrEqual(1);
    const clientLog = await kubectl(c, 'logs', '-n', APP_NS, 'client', '-c', 'sidecar-proxy');
    expect(clientLog.stdout).toContain(`"original_dst":"${svc.spec!.clusterIP}:80"`);
    // Kubelet probes on the captured port went through the server's proxy and pass.
    const serverNow = await c.core.readNamespacedPod({ name: server!.metadata!.name!, namespace: APP_NS });
    expect(isReady(serverNow)).toBe(true);
    expect(serverNow.status!.containerStatuses!.find((s) => s.name === 'app')!.restartCount).toBe(0);
    expect((await proxyCounters(serverNow)).inbound).toBeGreaterThan(fromClient.length);
    await c.core.deleteNamespacedPod({ name: 'client', namespace: APP_NS, gracePeriodSeconds: 0 });
  });

  it('a Job with a native sidecar completes', async () => {
    const svc = await c.core.readNamespacedService({ name: 'server', namespace: APP_NS });
    await apply(
      c,
      `
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: ${APP_NS}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: app
          image: ${c.images.app}
          imagePullPolicy: Never
          args: [get, "http://${svc.spec!.clusterIP}/"]
`,
    );
    await eventually(
      async () => {
        const job = (
          await kubectl(c, 'get', 'job', 'once', '-n', APP_NS, '-o', 'jsonpath={.status.succeeded}')
        ).stdout;
        return job === '1' ? true : undefined;
      },
      { what: 'the Job to succeed', timeoutMs: 90_000 },
    );
    // Pod counts read metadata only, where a finished pod still carries its revision: a completed Job's
    // pods count as outdated until the Job is deleted (docs/controller.md).
    await kubectl(c, 'delete', 'job', 'once', '-n', APP_NS, '--cascade=foreground', '--wait');
  });

  it('the leader pod deleted: the other replica takes over, and admissions never fail meanwhile', async () => {
    const holder = async (): Promise<string> =>
      (await kubectl(c, 'get', 'lease', '-n', OP_NS, '-o', 'jsonpath={.items[0].spec.holderIdentity}'))
        .stdout;
    const before = await holder();
    const pods = (
      await c.core.listNamespacedPod({
        namespace: OP_NS,
        labelSelector: 'app.kubernetes.io/name=sidecar-operator',
      })
    ).items;
    const leader = pods.find((p) => before.includes(p.metadata!.name!))!;
    expect(leader).toBeDefined();
    // Admissions through the whole handover: server-side dry-run creates of an injected pod.
    let admissions = 0;
    const failures: string[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const r = await runApp(
          `probe-${admissions}`,
          APP_NS,
          '--dry-run=server',
          '-o',
          'jsonpath={.spec.initContainers[*].name}',
        );
        admissions++;
        if (r.code !== 0 || !r.stdout.includes('sidecar-proxy')) failures.push(r.stderr || r.stdout);
      }
    })();
    await c.core.deleteNamespacedPod({ name: leader.metadata!.name!, namespace: OP_NS });
    await eventually(
      async () => {
        const h = await holder();
        return h && !h.includes(leader.metadata!.name!) ? h : undefined;
      },
      { what: 'another replica to hold the lease', timeoutMs: 90_000 },
    );
    await waitForPods(
      c,
      OP_NS,
      'app.kubernetes.io/name=sidecar-operator',
      (ps) => ps.filter(isReady).length === 2,
      'two Ready replicas again',
      120_000,
    );
    stop = true;
    await loop;
    expect(admissions).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  it('a policy edit with rollout Restart replaces the pods onto the new revision; outdatedPods returns to 0', async () => {
    // Only workloads a rollout restarts are left running on the old revision.
    await kubectl(c, 'delete', 'pod', 'client', '-n', APP_NS, '--ignore-not-found', '--wait');
    // A second workload, so the wave limit (maxUnavailable: 1) has something to hold back.
    await apply(
      c,
      appYaml().replaceAll('name: server', 'name: server2').replaceAll('app: server', 'app: server2'),
    );
    await waitForPods(
      c,
      APP_NS,
      'app=server2',
      (ps) => ps.length === 1 && ps.every(isReady),
      'server2 Ready',
      120_000,
    );
    const revisionOf = async (): Promise<string> =>
      (await kubectl(c, 'get', 'sidecarpolicy', POLICY, '-o', 'jsonpath={.status.revision}')).stdout;
    const oldRevision = await revisionOf();
    await apply(c, policyYaml('2'));
    const newRevision = await eventually(
      async () => {
        const r = await revisionOf();
        return r && r !== oldRevision ? r : undefined;
      },
      { what: 'a new revision', timeoutMs: 60_000 },
    );
    let maxRestarting = 0;
    await eventually(
      async () => {
        const deps = (await c.apps.listNamespacedDeployment({ namespace: APP_NS })).items;
        const restarting = deps.filter(
          (d) =>
            (d.status?.updatedReplicas ?? 0) < (d.spec?.replicas ?? 1) ||
            (d.status?.replicas ?? 0) > (d.spec?.replicas ?? 1),
        ).length;
        maxRestarting = Math.max(maxRestarting, restarting);
        const pods = (await c.core.listNamespacedPod({ namespace: APP_NS })).items.filter((p) =>
          p.metadata?.labels?.app?.startsWith('server'),
        );
        const onNew = pods.filter(
          (p) => p.metadata?.labels?.['sidecar.dev/revision'] === newRevision && isReady(p),
        );
        const outdated = (
          await kubectl(c, 'get', 'sidecarpolicy', POLICY, '-o', 'jsonpath={.status.outdatedPods}')
        ).stdout;
        return onNew.length === 2 && pods.length === 2 && outdated === '0' ? true : undefined;
      },
      { what: 'both workloads on the new revision and outdatedPods 0', timeoutMs: 240_000, intervalMs: 300 },
    );
    expect(maxRestarting).toBeLessThanOrEqual(1);
  });

  it('every example policy gives pods that start (its proxy image replaced by the fixture)', async () => {
    const examples = readdirSync(join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) =>
        parseAllDocuments(readFileSync(join(ROOT, 'examples', f), 'utf8'))
          .map((d) => d.toJS() as { kind?: string; metadata: { name: string }; spec: ExampleSpec })
          .filter((o) => o?.kind === 'SidecarPolicy'),
      );
    expect(examples.length).toBeGreaterThanOrEqual(7);
    const objects: string[] = [];
    for (const ex of examples) {
      const ns = `ex-${ex.metadata.name}`;
      // Each example governs a namespace of its own; its proxy is the fixture, which reads the same
      // configuration file Envoy would (and exits without its listeners).
      const spec = {
        ...ex.spec,
        selector: { namespaceSelector: { matchLabels: { example: ex.metadata.name } } },
        proxy: { ...ex.spec.proxy, image: c.images.proxy },
      };
      objects.push(
        stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns, labels: { example: ex.metadata.name } },
        }),
        stringify({
          apiVersion: 'sidecar.dev/v1alpha1',
          kind: 'SidecarPolicy',
          metadata: { name: ns },
          spec,
        }),
        // What the example's volumes name, so the kubelet can mount them.
        ...(ex.spec.volumes ?? []).flatMap((v) =>
          v.secret
            ? [
                stringify({
                  apiVersion: 'v1',
                  kind: 'Secret',
                  metadata: { name: v.secret.secretName, namespace: ns },
                  stringData: { 'ca.crt': 'x', 'tls.crt': 'x', 'tls.key': 'x' },
                }),
              ]
            : v.configMap
              ? [
                  stringify({
                    apiVersion: 'v1',
                    kind: 'ConfigMap',
                    metadata: { name: v.configMap.name, namespace: ns },
                    data: { placeholder: 'x' },
                  }),
                ]
              : [],
        ),
      );
    }
    await apply(c, objects.join('---\n'));
    for (const ex of examples) {
      const ns = `ex-${ex.metadata.name}`;
      await eventually(
        async () =>
          (await c.core.readNamespace({ name: ns })).metadata?.labels?.[POLICY_LABEL] === ns
            ? true
            : undefined,
        { what: `namespace ${ns} governed by its policy`, timeoutMs: 60_000 },
      );
      const r = await runApp('web', ns, '--image-pull-policy=Never', '--', 'serve', '-port', '8080');
      expect(r.code, `${ns}: ${r.stderr}`).toBe(0);
    }
    for (const ex of examples) {
      const ns = `ex-${ex.metadata.name}`;
      const [p] = await waitForPods(
        c,
        ns,
        'run=web',
        (ps) => ps.length === 1 && isReady(ps[0]!),
        `${ns}/web Ready`,
      );
      const sidecars = [...(p!.spec!.initContainers ?? []), ...p!.spec!.containers].map((x) => x.name);
      expect(sidecars, ns).toContain('sidecar-proxy');
    }
    for (const ex of examples)
      await kubectl(c, 'delete', 'namespace', `ex-${ex.metadata.name}`, '--wait=false');
    for (const ex of examples)
      await kubectl(c, 'delete', 'sidecarpolicy', `ex-${ex.metadata.name}`, '--timeout=60s');
  });

  it('doctor against this cluster: healthy, the operator’s replicas and the pod’s sidecar running', async () => {
    const [server] = (await c.core.listNamespacedPod({ namespace: APP_NS, labelSelector: 'app=server' }))
      .items;
    const r = await doctor('-n', APP_NS, '--pod', server!.metadata!.name!);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /PASS {2}operator-replicas: Deployment sidecar-system\/sidecar-operator: 2\/2 replicas ready; the webhook Service has 2 ready endpoint/,
    );
    expect(r.stdout).toContain(
      `PASS  sidecar-running:${APP_NS}/${server!.metadata!.name}: sidecar-init exited 0; the proxy is running and ready`,
    );
  });

  it('doctor names the cause when the proxy cannot start', async () => {
    const ns = 'broken-proxy';
    // Bootstrap None hands the proxy no configuration; told to read a file nothing writes, it exits.
    await apply(
      c,
      `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}, labels: {mesh: broken}}
---
apiVersion: sidecar.dev/v1alpha1
kind: SidecarPolicy
metadata: {name: broken-proxy}
spec:
  selector:
    namespaceSelector: {matchLabels: {mesh: broken}}
  injection: {sidecarMode: Native}
  proxy:
    image: ${c.images.proxy}
    bootstrap: {mode: None}
    args: [--config-path, /etc/sidecar/proxy/missing.yaml]
  interception: {mode: REDIRECT}
`,
    );
    await eventually(
      async () => {
        const p = await kubectl(
          c,
          'get',
          'sidecarpolicy',
          'broken-proxy',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        );
        return p.stdout === 'True' || undefined;
      },
      { what: 'policy broken-proxy Ready', timeoutMs: 60_000 },
    );
    const created = await runApp('web', ns, '--image-pull-policy=Never', '--', 'serve', '-port', '8080');
    expect(created.code, created.stderr).toBe(0);
    await eventually(
      async () => {
        const p = await c.core.readNamespacedPod({ name: 'web', namespace: ns });
        const proxy = p.status?.initContainerStatuses?.find((s) => s.name === 'sidecar-proxy');
        return (proxy?.lastState?.terminated?.exitCode ?? 0) !== 0 || undefined;
      },
      { what: 'the broken proxy’s first exit', timeoutMs: 90_000 },
    );
    const r = await doctor('-n', ns, '--pod', 'web');
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toMatch(
      /FAIL {2}sidecar-running:broken-proxy\/web: the proxy cannot start: it exits with code 1 \(Error\).*its last log line: ".*missing\.yaml: no such file or directory"/,
    );
    await kubectl(c, 'delete', 'namespace', ns, '--wait=false');
    await kubectl(c, 'delete', 'sidecarpolicy', 'broken-proxy', '--wait=true', '--timeout=60s');
  });

  it('doctor names the cause when the operator Deployment is scaled to 0', async () => {
    const scale = (n: number) =>
      kubectl(c, 'scale', 'deployment/sidecar-operator', '-n', OP_NS, `--replicas=${n}`);
    expect((await scale(0)).code).toBe(0);
    await waitForPods(
      c,
      OP_NS,
      'app.kubernetes.io/name=sidecar-operator',
      (ps) => ps.length === 0,
      'no operator pods',
    );
    const r = await doctor('-n', APP_NS);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stdout).toContain(
      'FAIL  operator-replicas: Deployment sidecar-system/sidecar-operator is scaled to 0: no replica serves the webhook or reconciles policies; the API server refuses every pod in governed namespaces (failurePolicy Fail)',
    );
    expect(r.stdout).toContain(
      'fix: kubectl scale deployment/sidecar-operator -n sidecar-system --replicas=2',
    );
    expect((await scale(2)).code).toBe(0);
    await waitForPods(
      c,
      OP_NS,
      'app.kubernetes.io/name=sidecar-operator',
      (ps) => ps.length === 2 && ps.every(isReady),
      'two operator replicas Ready again',
    );
    // The new replicas elect a leader and serve again: doctor is healthy once more.
    await eventually(
      async () => {
        const d = await doctor('-n', APP_NS);
        if (d.code === 0) return true;
        // Said when it times out: what doctor still reports.
        throw new Error(
          d.stdout
            .split('\n')
            .filter((l) => !l.startsWith('PASS'))
            .join('\n'),
        );
      },
      {
        what: 'doctor healthy after scaling back',
        timeoutMs: 90_000,
      },
    );
  });

  it('helm uninstall: no webhook configuration, namespace mark or finalizer left; pods in the namespace still start', async () => {
    const r = await helm(c, 'uninstall', RELEASE, '-n', OP_NS, '--wait', '--timeout', '4m');
    expect(r.code, r.stderr).toBe(0);
    expect((await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'name')).stdout.trim()).toBe('');
    const templates = await kubectl(
      c,
      'get',
      'configmap',
      '-n',
      OP_NS,
      '-l',
      'sidecar.dev/injector-template=true',
      '-o',
      'name',
    );
    expect(templates.stdout.trim(), 'injector template ConfigMaps left behind').toBe('');
    const ns = await c.core.readNamespace({ name: APP_NS });
    expect(Object.keys(ns.metadata!.labels ?? {}).filter((k) => k.startsWith('sidecar.dev/'))).toEqual([]);
    expect(Object.keys(ns.metadata!.annotations ?? {}).filter((k) => k.startsWith('sidecar.dev/'))).toEqual(
      [],
    );
    const policy = await kubectl(c, 'get', 'sidecarpolicy', POLICY, '-o', 'jsonpath={.metadata.finalizers}');
    expect(policy.stdout.trim()).toBe('');
    // The formerly governed namespace still gets pods (a fail-closed webhook left behind would refuse them).
    const created = await runApp('after-uninstall', APP_NS, '--image-pull-policy=Never', '--', 'serve');
    expect(created.code, created.stderr).toBe(0);
    await waitForPods(
      c,
      APP_NS,
      'run=after-uninstall',
      (ps) => ps.length === 1 && ps.every(isReady),
      'the pod created after uninstall Running',
    );
  });
});

describe('uninstall when the hook cannot run', () => {
  it('helm uninstall fails without taking anything away; sidecar-operator uninstall from outside, then --no-hooks, leaves nothing', async () => {
    const r = await helm(
      c,
      'install',
      RELEASE,
      CHART,
      '-n',
      OP_NS,
      '--set',
      'image.pullPolicy=Never',
      '--wait',
      '--timeout',
      '4m',
    );
    expect(r.code, r.stderr).toBe(0);
    await waitForPods(
      c,
      APP_NS,
      'app=server',
      (ps) => ps.length === 1 && ps.every(isReady),
      'the server pod Ready',
    );
    await eventually(
      async () =>
        (await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'name')).stdout.trim()
          ? true
          : undefined,
      { what: 'the webhook configuration back', timeoutMs: 60_000 },
    );
    // No room for the hook's pod: the Job can never run.
    await apply(
      c,
      `
apiVersion: v1
kind: ResourceQuota
metadata: {name: no-more-pods, namespace: ${OP_NS}}
spec: {hard: {pods: "2"}}
`,
    );
    const t0 = Date.now();
    const failed = await helm(c, 'uninstall', RELEASE, '-n', OP_NS, '--timeout', '60s');
    console.log(
      `helm uninstall with a hook that cannot run: exit ${failed.code} after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${failed.stderr.trim()}`,
    );
    expect(failed.code).not.toBe(0);
    // Nothing was taken away: the operator still runs and still injects.
    const ops = (
      await c.core.listNamespacedPod({
        namespace: OP_NS,
        labelSelector: 'app.kubernetes.io/name=sidecar-operator',
      })
    ).items;
    expect(ops.filter(isReady).length).toBe(2);
    const admitted = await runApp(
      'while-stuck',
      APP_NS,
      '--dry-run=server',
      '-o',
      'jsonpath={.spec.initContainers[*].name}',
    );
    expect(admitted.stdout).toContain('sidecar-proxy');
    // The way out the hook's failure message points to: the same cleanup, run from outside.
    const cleanup = await cli(
      c,
      'uninstall',
      `--operator-namespace=${OP_NS}`,
      `--scale-down=${RELEASE}`,
      '--timeout=60',
      '--delete-configmap',
      '--delete-secret=sidecar-operator-certs',
      '--delete-lease=sidecar-operator-leader',
    );
    expect(cleanup.code, cleanup.stderr + cleanup.stdout).toBe(0);
    const noHooks = await helm(c, 'uninstall', RELEASE, '-n', OP_NS, '--no-hooks', '--wait');
    expect(noHooks.code, noHooks.stderr).toBe(0);
    expect((await kubectl(c, 'get', 'mutatingwebhookconfiguration', '-o', 'name')).stdout.trim()).toBe('');
    const ns = await c.core.readNamespace({ name: APP_NS });
    expect(Object.keys(ns.metadata!.labels ?? {}).filter((k) => k.startsWith('sidecar.dev/'))).toEqual([]);
    const created = await runApp(
      'after-forced-uninstall',
      APP_NS,
      '--image-pull-policy=Never',
      '--',
      'serve',
    );
    expect(created.code, created.stderr).toBe(0);
    await waitForPods(
      c,
      APP_NS,
      'run=after-forced-uninstall',
      (ps) => ps.length === 1 && ps.every(isReady),
      'a pod created after the forced uninstall Running',
    );
  });
});
