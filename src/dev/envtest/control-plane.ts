import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  loadAllYaml,
  VersionApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { requestJson } from '../../kube/request.js';
import { findBinaries, type Binaries } from './binaries.js';
import { kubeconfigYaml, loadKubeConfig } from './kubeconfig.js';
import { createAuthority, createSigningKey, issue, type Authority, type KeyPair } from './pki.js';
import { freePort, ManagedProcess, sleep, waitFor } from './process.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (GC, namespace deletion, Deployment → ReplicaSet → Pod). */
  controllerManager?: boolean;
  /** Directories or files of CRD YAML to install before returning. */
  crds?: string[];
  /** Extra kube-apiserver flags. */
  apiServerFlags?: string[];
  /**
   * Serve on a node's address instead of loopback, the way a cluster with a node needs it: bound to
   * `address` (the node bridge's own address, so pods reach it), the `kubernetes` Service in
   * `serviceCIDR` backed by that address, ServiceAccount admission, Node authorization and a
   * kubelet client certificate. Without it the control plane is loopback-only and has no node.
   */
  nodeNetwork?: { address: string; serviceCIDR: string; serviceIP: string };
  log?: (msg: string) => void;
}

/** What a test process needs to reach the control plane; serialisable. */
export interface ControlPlaneInfo {
  server: string;
  dir: string;
  adminKubeconfigPath: string;
  adminKubeconfig: string;
  clientCA: KeyPair;
  /** The CA that signed the API server's serving certificate (what pods and the kubelet trust). */
  servingCA: KeyPair;
  /**
   * With `nodeNetwork`: the CA of the client certificate the API server presents to admission
   * webhooks called through a Service (its admission-control kubeconfig), as a cluster that
   * authenticates itself to webhooks is set up. What a webhook's `--webhook-client-ca` is given.
   */
  webhookClientCA?: string;
  serverVersion: string;
  binaries: Binaries;
}

const rootDir = join(tmpdir(), 'sidecar-envtest');

/** Removes data directories left by runs whose process no longer exists (e.g. after SIGKILL). */
function removeStaleDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(rootDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(entry.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(rootDir, entry), { recursive: true, force: true });
    }
  }
}

/**
 * A real kube-apiserver + etcd (+ optionally kube-controller-manager) on loopback, started and
 * stopped by the test process, envtest-style.
 */
export class ControlPlane {
  private readonly procs: ManagedProcess[] = [];
  private clientCA!: Authority;
  private servingCA!: Authority;
  private webhookClientCA?: Authority;
  info!: ControlPlaneInfo;

  constructor(private readonly opts: ControlPlaneOptions = {}) {}

  private log(msg: string): void {
    (this.opts.log ?? (() => undefined))(msg);
  }

  async start(): Promise<ControlPlaneInfo> {
    const bins = findBinaries();
    removeStaleDirs();
    mkdirSync(rootDir, { recursive: true });
    const dir = join(rootDir, `${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir, { recursive: true });
    try {
      await this.writePki(dir);
      const etcdUrl = await this.startEtcd(bins, dir);
      const server = await this.startApiServer(bins, dir, etcdUrl);
      const admin = await issue(this.clientCA, {
        commonName: 'admin',
        organizations: ['system:masters'],
        usage: 'client',
      });
      const adminKubeconfig = kubeconfigYaml(server, this.servingCA.certPem, 'admin', admin);
      const adminKubeconfigPath = join(dir, 'admin.kubeconfig');
      writeFileSync(adminKubeconfigPath, adminKubeconfig, { mode: 0o600 });
      const kc = loadKubeConfig(adminKubeconfig);
      await this.waitForDefaultNamespace(kc);
      if (this.opts.controllerManager) await this.startControllerManager(bins, dir, server);
      for (const path of this.opts.crds ?? []) await installCRDs(kc, path);
      const version = await kc.makeApiClient(VersionApi).getCode();
      this.info = {
        server,
        dir,
        adminKubeconfigPath,
        adminKubeconfig,
        clientCA: { certPem: this.clientCA.certPem, keyPem: this.clientCA.keyPem },
        servingCA: { certPem: this.servingCA.certPem, keyPem: this.servingCA.keyPem },
        ...(this.webhookClientCA ? { webhookClientCA: this.webhookClientCA.certPem } : {}),
        serverVersion: version.gitVersion,
        binaries: bins,
      };
      return this.info;
    } catch (err) {
      await this.stop(dir);
      throw err;
    }
  }

  private async writePki(dir: string): Promise<void> {
    this.clientCA = await createAuthority('envtest-client-ca');
    this.servingCA = await createAuthority('envtest-serving-ca');
    const net = this.opts.nodeNetwork;
    const serving = await issue(this.servingCA, {
      commonName: 'kube-apiserver',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses: net ? ['127.0.0.1', net.address, net.serviceIP] : ['127.0.0.1', '10.0.0.1'],
      usage: 'server',
    });
    // The API server's identity towards kubelets (logs, exec, port-forward).
    const kubeletClient = await issue(this.clientCA, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const sa = await createSigningKey();
    const files: Record<string, string> = {
      'client-ca.crt': this.clientCA.certPem,
      'serving-ca.crt': this.servingCA.certPem,
      'apiserver.crt': serving.certPem + this.servingCA.certPem,
      'apiserver.key': serving.keyPem,
      'sa.pub': sa.publicPem,
      'sa.key': sa.privatePem,
      'kubelet-client.crt': kubeletClient.certPem,
      'kubelet-client.key': kubeletClient.keyPem,
    };
    if (net) Object.assign(files, await this.webhookClientFiles(dir));
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(dir, name), content, { mode: 0o600 });
  }

  /**
   * The API server's identity towards admission webhooks: a CA of its own (not the cluster's client
   * CA, whose certificates users hold), a client certificate, and the admission configuration whose
   * kubeconfig presents it to every webhook called through a Service (`*.svc`).
   */
  private async webhookClientFiles(dir: string): Promise<Record<string, string>> {
    this.webhookClientCA = await createAuthority('envtest-webhook-client-ca');
    const cert = await issue(this.webhookClientCA, {
      commonName: 'kube-apiserver-webhook-client',
      usage: 'client',
    });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    // JSON, which the API server reads as YAML.
    const kubeconfig = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      users: [
        {
          name: '*.svc',
          user: { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) },
        },
      ],
    });
    const configuration = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'WebhookAdmissionConfiguration',
      kubeConfigFile: join(dir, 'webhook-client.kubeconfig'),
    };
    const admission = JSON.stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: ['MutatingAdmissionWebhook', 'ValidatingAdmissionWebhook'].map((name) => ({
        name,
        configuration,
      })),
    });
    return { 'webhook-client.kubeconfig': kubeconfig, 'admission.yaml': admission };
  }

  private async startEtcd(bins: Binaries, dir: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const [client, peer] = [await freePort(), await freePort()];
      const url = `http://127.0.0.1:${client}`;
      const etcd = new ManagedProcess(
        'etcd',
        bins.etcd,
        [
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=default=http://127.0.0.1:${peer}`,
          '--unsafe-no-fsync=true',
          '--quota-backend-bytes=8589934592',
          '--log-level=warn',
        ],
        join(dir, 'etcd.log'),
      );
      etcd.start();
      this.procs.push(etcd);
      try {
        await waitFor('/health', etcd, async () => (await fetch(`${url}/health`)).ok, 20_000);
        this.log(`etcd ready on ${url}`);
        return url;
      } catch (err) {
        await etcd.stop();
        this.procs.pop();
        if (attempt >= 3) throw err;
      }
    }
  }

  private async startApiServer(bins: Binaries, dir: string, etcdUrl: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const net = this.opts.nodeNetwork;
      const host = net?.address ?? '127.0.0.1';
      const server = `https://${host}:${port}`;
      const args = [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${dir}`,
        `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
        `--secure-port=${port}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--client-ca-file=${join(dir, 'client-ca.crt')}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        ...(net
          ? [
              `--service-cluster-ip-range=${net.serviceCIDR}`,
              '--authorization-mode=Node,RBAC',
              '--enable-admission-plugins=NodeRestriction',
              `--admission-control-config-file=${join(dir, 'admission.yaml')}`,
              `--kubelet-client-certificate=${join(dir, 'kubelet-client.crt')}`,
              `--kubelet-client-key=${join(dir, 'kubelet-client.key')}`,
              '--kubelet-preferred-address-types=InternalIP',
            ]
          : [
              '--service-cluster-ip-range=10.0.0.0/24',
              '--authorization-mode=RBAC',
              '--disable-admission-plugins=ServiceAccount',
              '--endpoint-reconciler-type=none',
            ]),
        ...(this.opts.apiServerFlags ?? []),
      ];
      const apiserver = new ManagedProcess(
        'kube-apiserver',
        bins.kubeApiserver,
        args,
        join(dir, 'kube-apiserver.log'),
      );
      apiserver.start();
      this.procs.push(apiserver);
      try {
        await waitFor('/readyz', apiserver, () => this.probe(`${server}/readyz`), 60_000);
        this.log(`kube-apiserver ready on ${server}`);
        return server;
      } catch (err) {
        await apiserver.stop();
        this.procs.pop();
        if (attempt >= 3) throw err;
      }
    }
  }

  private probe(url: string): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request(url, { ca: this.servingCA.certPem, timeout: 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  private async startControllerManager(bins: Binaries, dir: string, server: string): Promise<void> {
    const cred = await issue(this.clientCA, {
      commonName: 'system:kube-controller-manager',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const kubeconfig = join(dir, 'kube-controller-manager.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, this.servingCA.certPem, 'kcm', cred), { mode: 0o600 });
    const port = await freePort();
    const kcm = new ManagedProcess(
      'kube-controller-manager',
      bins.kubeControllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, 'kcm-certs')}`,
        `--service-account-private-key-file=${join(dir, 'sa.key')}`,
        `--root-ca-file=${join(dir, 'serving-ca.crt')}`,
        '--use-service-account-credentials=false',
        this.opts.nodeNetwork
          ? '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-bootstrapsigner,-tokencleaner'
          : '--controllers=*,-nodeipam,-nodelifecycle,-service-lb-controller,-cloud-node-lifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ttl,-bootstrapsigner,-tokencleaner',
        '--concurrent-deployment-syncs=5',
        '--concurrent-replicaset-syncs=5',
        '--concurrent-gc-syncs=20',
        '--namespace-sync-period=10s',
      ],
      join(dir, 'kube-controller-manager.log'),
    );
    kcm.start();
    this.procs.push(kcm);
    await waitFor('/healthz', kcm, () => probeInsecure(`https://127.0.0.1:${port}/healthz`), 60_000);
    this.log('kube-controller-manager ready');
  }

  private async waitForDefaultNamespace(kc: KubeConfig): Promise<void> {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const core = kc.makeApiClient(CoreV1Api);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await core.readNamespace({ name: 'default' });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error('namespace default never appeared', { cause: err });
        await sleep(200);
      }
    }
  }

  /** A client certificate for `user` in `groups`, signed by the API server's client CA. */
  async userKubeconfig(user: string, groups: string[] = []): Promise<string> {
    const cred = await issue(this.clientCA, { commonName: user, organizations: groups, usage: 'client' });
    return kubeconfigYaml(this.info.server, this.servingCA.certPem, user, cred);
  }

  /** Stops every process (reverse start order) and removes the data directory. */
  async stop(dir = this.info?.dir): Promise<void> {
    for (const proc of [...this.procs].reverse()) await proc.stop();
    this.procs.length = 0;
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  pids(): number[] {
    return this.procs.map((p) => p.pid).filter((p): p is number => p !== undefined);
  }
}

/** Creates or updates every CRD in a file or directory and waits until each is Established and served. */
export async function installCRDs(kc: KubeConfig, path: string): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const { statSync } = await import('node:fs');
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(path, f))
    : [path];
  const names: string[] = [];
  for (const file of files) {
    // Typed API calls serialize from the model's camelCase fields: plain YAML would lose every
    // x-kubernetes-* extension, so the documents go through the client's deserializer first.
    for (const crd of loadAllYaml(readFileSync(file, 'utf8')) as (V1CustomResourceDefinition | null)[]) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const name = crd.metadata!.name!;
      try {
        await api.createCustomResourceDefinition({ body: crd });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        const current = await api.readCustomResourceDefinition({ name });
        crd.metadata!.resourceVersion = current.metadata!.resourceVersion;
        await api.replaceCustomResourceDefinition({ name, body: crd });
      }
      names.push(name);
    }
  }
  for (const name of names) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (established && (await servedInDiscovery(kc, crd))) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established and discoverable after 30 s`);
      await sleep(100);
    }
  }
  return names;
}

/** Whether discovery lists the CRD's plural in every served version (Established can come first). */
async function servedInDiscovery(kc: KubeConfig, crd: V1CustomResourceDefinition): Promise<boolean> {
  const { group, names } = crd.spec;
  for (const v of crd.spec.versions.filter((x) => x.served)) {
    try {
      const list = await requestJson<{ resources?: { name: string }[] }>(kc, {
        path: `/apis/${group}/${v.name}`,
      });
      if (!list.resources?.some((r) => r.name === names.plural)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Whether `url` answers 200 over HTTPS, certificate not checked (a local component's own /healthz). */
export function probeInsecure(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
