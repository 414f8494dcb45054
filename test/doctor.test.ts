import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type V1Lease,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INJECTION_LABEL, POLICY_LABEL, policyPath, STATUS_ANNOTATION } from '../src/api/index.js';
import { createSelfSignedCA, issueLeaf, issueServingCertificate } from '../src/certs/authority.js';
import { createAuthority } from '../src/dev/envtest/pki.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  condition,
  createPolicy,
  freePort,
  getPolicy,
  metric,
  shortId,
  startTestOperator,
  TEST_INIT_IMAGE,
} from './controller-support.js';
import { envtest, eventually, testNamespace } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  reason: string;
  fix?: string;
  code?: string;
  docs?: string;
}
interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** When each stdout line arrived (ms since the start), read as the child writes it. */
  lines: { t: number; line: string }[];
}

function node(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Run['lines'] = [];
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ t: Date.now() - started, line });
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, lines }));
  });
}

const shard = `doctor-${shortId()}`;
const policy = `doctor-${shortId()}`;
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
let opNs = '';
let appNs = '';
/** The JSON lines the test's first operator logs. */
const operatorLog: string[] = [];
/** Where a `run` process leads alone, to be frozen. */
let leadNs = '';
let operator: OperatorHandle | undefined;
let webhookPort = 0;

/** `doctor` against the envtest control plane, for the test's operator and application namespaces. */
const doctorArgs = (...extra: string[]): string[] => [
  MAIN,
  'doctor',
  '--kubeconfig',
  envtest().adminKubeconfigPath,
  '--operator-namespace',
  opNs,
  '--namespace',
  appNs,
  ...extra,
];

async function doctor(...extra: string[]): Promise<{ code: number; checks: Check[]; stderr: string }> {
  const run = await node(doctorArgs('--output', 'json', ...extra));
  const parsed = JSON.parse(run.stdout) as { exitCode: number; checks: Check[] };
  expect(parsed.exitCode).toBe(run.code);
  return { code: run.code, checks: parsed.checks, stderr: run.stderr };
}

const find = (checks: Check[], name: string): Check => {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${checks.map((x) => x.name).join(', ')}`);
  return c;
};

async function governed(): Promise<boolean> {
  const ns = await core.readNamespace({ name: appNs });
  const p = await getPolicy(kc, policy);
  // Settled: Ready, and the admission check's verdict in (Unknown while a namespace is unchecked).
  return (
    ns.metadata?.labels?.[POLICY_LABEL] === policy &&
    condition(p, 'Ready')?.status === 'True' &&
    condition(p, 'PodsAdmissible')?.status === 'True'
  );
}

beforeAll(async () => {
  const build = await node([
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  if (!existsSync(MAIN)) throw new Error(`build did not produce ${MAIN}: ${build.stdout}${build.stderr}`);
  opNs = await testNamespace('doctor-op');
  appNs = await testNamespace('doctor-app');
  leadNs = await testNamespace('doctor-lead');
  // Leading, as a deployed operator does: doctor checks the Lease it holds. Its log is kept, to see
  // what it says of doctor's dry runs.
  operator = await startTestOperator(opNs, shard, {
    leaderElect: true,
    log: pino({ level: 'info' }, { write: (line: string) => void operatorLog.push(line) }),
  });
  webhookPort = operator.webhookPort;
  await createPolicy(kc, policy, shard, { selector: { namespaces: [appNs] } });
  await eventually(async () => ((await governed()) ? true : undefined), {
    what: 'policy Ready, namespace marked',
  });
}, 300_000);

afterAll(async () => {
  // The policy's finalizer needs a leading operator to go away.
  await operator?.stop();
  await kc
    .makeApiClient(CoordinationV1Api)
    .deleteNamespacedLease({ name: 'sidecar-operator-leader', namespace: opNs })
    .catch(() => undefined);
  const cleaner = await startTestOperator(opNs, shard, { leaderElect: false });
  try {
    await requestJson(kc, { method: 'DELETE', path: policyPath(policy) }).catch(() => undefined);
    await eventually(async () => ((await getPolicy(kc, policy)) === undefined ? true : undefined), {
      what: 'policy deleted',
    });
  } finally {
    await cleaner.stop();
    await admission.deleteMutatingWebhookConfiguration({ name: policy }).catch(() => undefined);
  }
}, 120_000);

describe('sidecar-operator doctor', () => {
  it('passes every check on a healthy install (exit 0), in text without colour when not on a terminal', async () => {
    const { code, checks } = await doctor();
    expect(checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(code).toBe(0);
    for (const name of [
      'api-server-version',
      'admission-registration-api',
      `webhook-configuration:${policy}`,
      `webhook-ca-bundle:${policy}`,
      `webhook-review:${policy}`,
      'mutating-admission-webhook',
      'certificate-expiry',
      `namespace:${appNs}`,
    ])
      expect(find(checks, name).status).toBe('pass');
    expect(find(checks, 'api-server-version').reason).toMatch(/native sidecars supported/);
    expect(find(checks, `namespace:${appNs}`).reason).toContain(`governed by ${policy}`);
    expect(find(checks, 'operator-leader').reason).toMatch(
      new RegExp(
        `^${operator!.identity} leads \\(the Lease ${opNs}/sidecar-operator-leader was renewed \\d+s ago; its term is 15s\\)$`,
      ),
    );
    expect(checks.filter((c) => c.code !== undefined || c.docs !== undefined)).toEqual([]);

    const text = await node([
      MAIN,
      'doctor',
      '--kubeconfig',
      envtest().adminKubeconfigPath,
      '--operator-namespace',
      opNs,
      '-n',
      appNs,
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^PASS {2}api-server-version: /m);
    expect(text.stdout).not.toContain('\x1b[');
  });

  it('streams: what is known is printed while a webhook that never answers is still probed', async () => {
    // A port that accepts and never speaks TLS: the probe waits out its --timeout twice (TLS, review).
    const held: Socket[] = [];
    const blackhole = createServer((s) => held.push(s));
    const port = await freePort();
    await new Promise<void>((resolve) => blackhole.listen(port, '127.0.0.1', resolve));
    try {
      const run = await node(doctorArgs('--webhook-url', `https://127.0.0.1:${port}`, '--timeout', '2s'));
      const at = (prefix: string): number => {
        const l = run.lines.find((x) => x.line.startsWith(prefix));
        if (!l) throw new Error(`no line ${prefix} in ${run.stdout}`);
        return l.t;
      };
      const first = at('PASS  api-server-version: ');
      const probed = at(`FAIL  webhook-ca-bundle:${policy}: `);
      expect(at('PASS  sidecarpolicy-crd: ')).toBeLessThan(probed - 1500);
      expect(at('PASS  operator-leader: ')).toBeLessThan(probed - 1500);
      expect(first).toBeLessThan(probed - 1500);
      expect(run.stdout).toContain(
        `FAIL  webhook-ca-bundle:${policy}: cannot connect to the webhook at 127.0.0.1:${port}: no TLS handshake within 2000 ms [SO123]`,
      );
      expect(run.stdout).toContain(`      see: docs/doctor.md#so123`);
      // stderr is no terminal: no progress line there, and stdout holds only the report.
      expect(run.stderr).toBe('');
      expect(run.code).toBe(2);
    } finally {
      for (const s of held) s.destroy();
      blackhole.close();
    }
  });

  it('leaves the injection counter alone over five runs: its dry runs are not injections', async () => {
    const injections = metric(operator!, 'sidecar_webhook_injected_pods_total');
    const requests = metric(operator!, 'sidecar_webhook_admission_requests_total');
    const before = [await injections(), await requests()];
    const logged = operatorLog.length;
    for (let i = 0; i < 5; i++) expect((await doctor()).code).toBe(0);
    // Nor logged as injections (a dry run is logged at debug only).
    expect(operatorLog.slice(logged).filter((l) => l.includes('"result":"injected"'))).toEqual([]);
    // The webhook did see doctor's reviews (the direct one and the API server's dry-run create).
    expect(await requests()).toBeGreaterThanOrEqual(before[1]! + 10);
    expect(await injections()).toBe(before[0]);
  });

  it('tells a hostNetwork pod (skipped by design) apart from a missed one', async () => {
    await core.createNamespacedPod({
      namespace: appNs,
      body: {
        metadata: { name: 'node-agent' },
        spec: { hostNetwork: true, containers: [{ name: 'agent', image: 'registry.k8s.io/pause:3.10' }] },
      },
    });
    const all = await doctor();
    const pods = find(all.checks, `pods:${appNs}`);
    expect(pods.status).toBe('pass');
    expect(pods.reason).toMatch(/skipped: 1 on the host network \(node-agent\), never injected by design/);
    expect(all.checks.find((c) => c.name === `pods-missed:${appNs}`)).toBeUndefined();
    expect(all.code).toBe(0);

    const one = await doctor('--pod', 'node-agent');
    const pod = find(one.checks, `pod:${appNs}/node-agent`);
    expect(pod).toMatchObject({ status: 'warn', code: 'SO167' });
    expect(pod.reason).toMatch(/pod uses the host network.*\(HostNetwork\)/);
    expect(pod.reason).not.toMatch(/webhook was unreachable/);
    await core.deleteNamespacedPod({ name: 'node-agent', namespace: appNs, gracePeriodSeconds: 0 });
  });

  it('reports the operator Deployment scaled to 0 (fail SO112), and skips /readyz with no pod to ask', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = {
      'app.kubernetes.io/name': 'sidecar-operator',
      'app.kubernetes.io/part-of': 'sidecar-operator',
    };
    await apps.createNamespacedDeployment({
      namespace: opNs,
      body: {
        metadata: { name: 'sidecar-operator', labels },
        spec: {
          replicas: 0,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'sidecar-operator' } },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'operator', image: 'registry.test/sidecar-operator:dev' }] },
          },
        },
      },
    });
    try {
      const { code, checks } = await doctor();
      const replicas = find(checks, 'operator-replicas');
      expect(replicas).toMatchObject({ status: 'fail', code: 'SO112', docs: 'docs/doctor.md#so112' });
      expect(replicas.reason).toMatch(
        new RegExp(
          `^Deployment ${opNs}/sidecar-operator is scaled to 0: no replica serves the webhook or reconciles policies; `,
        ),
      );
      expect(replicas.fix).toMatch(
        new RegExp(`^kubectl scale deployment/sidecar-operator -n ${opNs} --replicas=2`),
      );
      expect(find(checks, 'operator-readyz')).toEqual({
        name: 'operator-readyz',
        status: 'pass',
        reason: `not checked: no pod of the operator's Deployment exists in ${opNs}`,
      });
      expect(code).toBe(2);
    } finally {
      await apps.deleteNamespacedDeployment({ name: 'sidecar-operator', namespace: opNs });
    }
  });

  it('reports a leader frozen with SIGSTOP by name (fail SO117), from a real `run` process', async () => {
    const identity = `frozen-${shortId()}`;
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'run',
        '--kubeconfig',
        envtest().adminKubeconfigPath,
        '--operator-namespace',
        leadNs,
        '--webhook-url',
        `https://127.0.0.1:${port}`,
        '--webhook-host',
        '127.0.0.1',
        '--webhook-port',
        String(port),
        // No policy carries this shard: the replica only leads.
        '--policy-selector',
        `test.sidecar.dev/shard=none-${shortId()}`,
        '--identity',
        identity,
        '--lease-duration',
        '3s',
        '--renew-deadline',
        '2s',
        '--retry-period',
        '500ms',
        '--init-image',
        TEST_INIT_IMAGE,
        '--admission-events',
        'false',
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lead = (...extra: string[]) =>
      node([
        MAIN,
        'doctor',
        '--kubeconfig',
        envtest().adminKubeconfigPath,
        '--operator-namespace',
        leadNs,
        '-o',
        'json',
        ...extra,
      ]).then((r) => (JSON.parse(r.stdout) as { checks: Check[] }).checks);
    try {
      await eventually(
        async () => {
          const l = await requestJson<V1Lease>(kc, {
            path: `/apis/coordination.k8s.io/v1/namespaces/${leadNs}/leases/sidecar-operator-leader`,
          }).catch(() => undefined);
          return l?.spec?.holderIdentity === identity ? true : undefined;
        },
        { what: `${identity} leads`, timeoutMs: 30_000 },
      );
      expect(find(await lead(), 'operator-leader').reason).toMatch(new RegExp(`^${identity} leads `));

      process.kill(child.pid!, 'SIGSTOP');
      // Past the 3 s term and doctor's 5 s of slack.
      await new Promise((r) => setTimeout(r, 9_500));
      const leader = find(await lead(), 'operator-leader');
      expect(leader).toMatchObject({ status: 'fail', code: 'SO117', docs: 'docs/doctor.md#so117' });
      expect(leader.reason).toMatch(
        new RegExp(
          `^leader ${identity} has not renewed the Lease ${leadNs}/sidecar-operator-leader for \\d+s \\(its term is 3s\\): frozen or partitioned`,
        ),
      );
    } finally {
      process.kill(child.pid!, 'SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
  }, 90_000);

  it('checks a policy file offline (-f): a good one passes, a bad one fails with SO190', async () => {
    const dir = tmpdir();
    const good = join(dir, `doctor-good-${shortId()}.yaml`);
    const bad = join(dir, `doctor-bad-${shortId()}.yaml`);
    const head = 'apiVersion: sidecar.dev/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: mesh}\nspec:\n';
    writeFileSync(
      good,
      `${head}  selector: {namespaces: [shop]}\n  proxy: {image: envoyproxy/envoy:v1.34.1}\n`,
    );
    writeFileSync(bad, `${head}  selector: {namespaces: [shop]}\n  interception: {mode: Sideways}\n`);
    // No --kubeconfig: nothing is dialled.
    const ok = await node([MAIN, 'doctor', '-f', good]);
    expect(ok.stdout).toMatch(
      /^PASS {2}policy-file:.*: SidecarPolicy mesh passes the CRD's schema and CEL rules$/m,
    );
    expect(ok.stdout).toMatch(/^PASS {2}policy-size:mesh: the rendered template is \d+ bytes/m);
    expect(ok.code).toBe(0);
    const no = await node([MAIN, 'doctor', '--offline', '-f', bad, '-o', 'json']);
    const checks = (JSON.parse(no.stdout) as { checks: Check[] }).checks;
    expect(checks).toEqual([
      {
        name: `policy-file:${bad}`,
        status: 'fail',
        reason:
          'not a valid SidecarPolicy (the API server would refuse it): spec.interception.mode: must be one of "REDIRECT", "TPROXY", "None"',
        fix: 'correct each field named; sidecar-operator inject --policy checks the same rules',
        code: 'SO190',
        docs: 'docs/doctor.md#so190',
      },
    ]);
    expect(no.code).toBe(2);
  });

  it('explains an injected pod (pass) and an opted-out one (warn, exit 1)', async () => {
    const pod = (name: string, labels: Record<string, string> = {}) =>
      core.createNamespacedPod({
        namespace: appNs,
        body: {
          metadata: { name, labels },
          spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
        },
      });
    const injected = await pod('injected');
    expect(injected.metadata?.annotations?.[STATUS_ANNOTATION]).toBeDefined();
    // A real injection is logged (so that the five runs above logging none means something).
    expect(operatorLog.some((l) => l.includes('"result":"injected"') && l.includes('"pod":"injected"'))).toBe(
      true,
    );
    await pod('skipped', { 'sidecar.dev/inject': 'false' });

    const ok = await doctor('--pod', 'injected');
    expect(find(ok.checks, `pod:${appNs}/injected`)).toMatchObject({ status: 'pass' });
    expect(find(ok.checks, `pod:${appNs}/injected`).reason).toMatch(/current revision/);
    expect(ok.code).toBe(0);

    const skipped = await doctor('--pod', 'skipped');
    expect(find(skipped.checks, `pod:${appNs}/skipped`)).toMatchObject({ status: 'warn' });
    expect(find(skipped.checks, `pod:${appNs}/skipped`).reason).toMatch(/OptedOut/);
    expect(skipped.code).toBe(1);
  });

  it('reports an opted-out namespace (warn, exit 1)', async () => {
    await core.patchNamespace({
      name: appNs,
      body: [
        { op: 'add', path: `/metadata/labels/${INJECTION_LABEL.replace('/', '~1')}`, value: 'disabled' },
      ],
    });
    // The operator removes the mark; assert on the settled state.
    await eventually(
      async () => {
        const ns = await core.readNamespace({ name: appNs });
        return ns.metadata?.labels?.[POLICY_LABEL] === undefined ? true : undefined;
      },
      { what: 'mark removed' },
    );
    const { code, checks } = await doctor();
    const ns = find(checks, `namespace:${appNs}`);
    expect(ns.status).toBe('warn');
    expect(ns.reason).toMatch(/opted out: labelled sidecar\.dev\/injection=disabled/);
    expect(ns.fix).toBe(`kubectl label namespace ${appNs} sidecar.dev/injection-`);
    expect(checks.some((c) => c.status === 'fail')).toBe(false);
    expect(code).toBe(1);

    await core.patchNamespace({
      name: appNs,
      body: [{ op: 'remove', path: `/metadata/labels/${INJECTION_LABEL.replace('/', '~1')}` }],
    });
    await eventually(async () => ((await governed()) ? true : undefined), { what: 'namespace marked again' });
  });

  describe('with the operator serving but not leading (nothing repairs the damage)', () => {
    let original: V1MutatingWebhookConfiguration;

    beforeAll(async () => {
      // The namespace was relabelled just before: everything settled (its admission verdict taken
      // again) while the leader runs, since a replica that does not lead never writes status.
      await eventually(async () => ((await doctor()).code === 0 ? true : undefined), {
        what: 'doctor healthy before the leader stops',
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      await operator?.stop();
      // The stopped leader released its Lease; someone else holds it now: the new instance serves
      // the webhook but never reconciles.
      await kc
        .makeApiClient(CoordinationV1Api)
        .deleteNamespacedLease({ name: 'sidecar-operator-leader', namespace: opNs });
      const micro = new Date().toISOString().replace(/Z$/, '000Z');
      await requestJson(kc, {
        method: 'POST',
        path: `/apis/coordination.k8s.io/v1/namespaces/${opNs}/leases`,
        body: {
          metadata: { name: 'sidecar-operator-leader' },
          spec: {
            holderIdentity: 'someone-else',
            leaseDurationSeconds: 3600,
            acquireTime: micro,
            renewTime: micro,
          },
        },
      });
      operator = await startTestOperator(opNs, shard, {
        leaderElect: true,
        webhookPort,
        webhookUrl: `https://127.0.0.1:${webhookPort}`,
      });
      await eventually(
        async () => {
          const d = await doctor();
          if (d.code === 0) return true;
          // Said when it times out: what is not passing.
          throw new Error(JSON.stringify(d.checks.filter((c) => c.status !== 'pass')));
        },
        {
          what: 'non-leader serving',
          timeoutMs: 30_000,
          intervalMs: 500,
        },
      );
      expect(operator.isLeader()).toBe(false);
      original = await admission.readMutatingWebhookConfiguration({ name: policy });
    });

    it('reports a caBundle from an unrelated CA (fail, exit 2)', async () => {
      const other = await createAuthority('unrelated-ca');
      const hooks = original.webhooks ?? [];
      await admission.patchMutatingWebhookConfiguration({
        name: policy,
        body: hooks.map((_, i) => ({
          op: 'replace',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: Buffer.from(other.certPem).toString('base64'),
        })),
      });
      const { code, checks } = await doctor();
      const ca = find(checks, `webhook-ca-bundle:${policy}`);
      expect(ca).toMatchObject({ status: 'fail', code: 'SO121' });
      expect(ca.reason).toMatch(/does not verify against the caBundle/);
      // The API server agrees: it cannot call the webhook, and failurePolicy Fail refuses the pod.
      expect(find(checks, 'mutating-admission-webhook')).toMatchObject({ status: 'fail' });
      expect(find(checks, 'mutating-admission-webhook').reason).toMatch(/failed calling webhook/);
      expect(code).toBe(2);

      await admission.patchMutatingWebhookConfiguration({
        name: policy,
        body: hooks.map((h, i) => ({
          op: 'replace',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: h.clientConfig.caBundle,
        })),
      });
      expect((await doctor()).code).toBe(0);
    });

    it('reports a deleted webhook configuration (fail, exit 2)', async () => {
      await admission.deleteMutatingWebhookConfiguration({ name: policy });
      const { code, checks } = await doctor();
      const mwc = find(checks, `webhook-configuration:${policy}`);
      expect(mwc).toMatchObject({ status: 'fail', code: 'SO120', docs: 'docs/doctor.md#so120' });
      expect(mwc.reason).toBe(
        `MutatingWebhookConfiguration ${policy} does not exist: the API server never calls the injector for this policy`,
      );
      expect(code).toBe(2);

      const { metadata, ...rest } = original;
      await admission.createMutatingWebhookConfiguration({
        body: {
          ...rest,
          metadata: {
            name: metadata?.name,
            labels: metadata?.labels,
            ownerReferences: metadata?.ownerReferences,
          },
        },
      });
      expect((await doctor()).code).toBe(0);
    });

    it('reports the expired certificate the webhook serves from its Secret (fail SO130)', async () => {
      // Nothing leads here, so nothing renews it: the operator's Secret gets a serving certificate,
      // signed by its CA, that expired an hour ago; the webhook loads it and serves it.
      const name = 'sidecar-operator-certs';
      const original = await core.readNamespacedSecret({ name, namespace: opNs });
      const pem = (k: string) => Buffer.from(original.data?.[k] ?? '', 'base64').toString();
      const now = Date.now();
      const leaf = await issueLeaf({
        ca: { certPem: pem('ca.crt'), keyPem: pem('ca.key') },
        subject: 'CN=sidecar-operator',
        ipAddresses: ['127.0.0.1'],
        usage: 'server',
        notBefore: new Date(now - 2 * 3_600_000),
        notAfter: new Date(now - 3_600_000),
      });
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const put = async (data: Record<string, string>) => {
        const current = await core.readNamespacedSecret({ name, namespace: opNs });
        await core.replaceNamespacedSecret({ name, namespace: opNs, body: { ...current, data } });
      };
      await put({ ...original.data, 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem) });
      try {
        const found = await eventually(
          async () => {
            const d = await doctor();
            return find(d.checks, 'certificate-expiry').status === 'fail' ? d : undefined;
          },
          { what: 'the expired certificate served', timeoutMs: 30_000, intervalMs: 500 },
        );
        const expiry = find(found.checks, 'certificate-expiry');
        expect(expiry).toMatchObject({ code: 'SO130', docs: 'docs/doctor.md#so130' });
        expect(expiry.reason).toBe(
          `certificate served for ${policy} expired at ${new Date(Math.floor((now - 3_600_000) / 1000) * 1000).toISOString()}: the API server refuses the webhook`,
        );
        expect(find(found.checks, `webhook-ca-bundle:${policy}`)).toMatchObject({
          status: 'fail',
          code: 'SO121',
        });
        expect(find(found.checks, `webhook-ca-bundle:${policy}`).reason).toMatch(/CERT_HAS_EXPIRED/);
        expect(found.code).toBe(2);
      } finally {
        await put(original.data ?? {});
      }
      await eventually(async () => ((await doctor()).code === 0 ? true : undefined), {
        what: 'the valid certificate served again',
        timeoutMs: 30_000,
        intervalMs: 500,
      });
    });

    it('reports an expired CA in the certificate Secret it is pointed at (fail SO130)', async () => {
      // Nothing leads here, so nothing renews it: a certificate Secret whose CA and leaf have expired.
      const now = Date.now();
      const ca = await createSelfSignedCA({
        commonName: 'expired-ca',
        notBefore: new Date(now - 3 * 86_400_000),
        notAfter: new Date(now - 86_400_000),
      });
      const leaf = await issueServingCertificate({
        ca,
        hosts: { dnsNames: [], ipAddresses: ['127.0.0.1'] },
        now: new Date(now - 2 * 86_400_000),
        lifetimeMs: 3_600_000,
      });
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const secret = `expired-${shortId()}`;
      await core.createNamespacedSecret({
        namespace: opNs,
        body: {
          metadata: { name: secret },
          type: 'kubernetes.io/tls',
          data: {
            'ca.crt': b64(ca.certPem),
            'ca.key': b64(ca.keyPem),
            'tls.crt': b64(leaf.certPem),
            'tls.key': b64(leaf.keyPem),
          },
        },
      });
      const { code, checks } = await doctor('--cert-secret', secret);
      const expiry = find(checks, 'certificate-expiry');
      expect(expiry).toMatchObject({ status: 'fail', code: 'SO130', docs: 'docs/doctor.md#so130' });
      expect(expiry.reason).toMatch(
        /^CA certificate expired at \d{4}-\d\d-\d\dT[\d:.]+Z: the API server refuses the webhook$/,
      );
      expect(code).toBe(2);
      await core.deleteNamespacedSecret({ name: secret, namespace: opNs });
    });

    it('reports a stopped operator (fail, exit 2)', async () => {
      await operator?.stop();
      operator = undefined;
      const { code, checks } = await doctor();
      expect(find(checks, `webhook-ca-bundle:${policy}`).reason).toMatch(
        /cannot connect to the webhook at 127\.0\.0\.1:\d+: ECONNREFUSED/,
      );
      expect(find(checks, `webhook-review:${policy}`).status).toBe('fail');
      const adm = find(checks, 'mutating-admission-webhook');
      expect(adm.status).toBe('fail');
      expect(adm.fix).toMatch(/failurePolicy is Fail/);
      expect(code).toBe(2);
    });
  });

  it('reports a missing kubeconfig in one line on stderr, exit 1', async () => {
    const run = await node([MAIN, 'doctor', '--kubeconfig', join(ROOT, 'no-such-kubeconfig')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^sidecar-operator: /);
  });
});
