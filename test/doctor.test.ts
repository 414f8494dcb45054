import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INJECTION_LABEL, POLICY_LABEL, policyPath, STATUS_ANNOTATION } from '../src/api/index.js';
import { createAuthority } from '../src/dev/envtest/pki.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  condition,
  createPolicy,
  getPolicy,
  shortId,
  startTestOperator,
} from './controller-support.js';
import { envtest, eventually, testNamespace } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  reason: string;
  fix?: string;
}
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const shard = `doctor-${shortId()}`;
const policy = `doctor-${shortId()}`;
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
let opNs = '';
let appNs = '';
let operator: OperatorHandle | undefined;
let webhookPort = 0;

async function doctor(...extra: string[]): Promise<{ code: number; checks: Check[]; stderr: string }> {
  const run = await node([
    MAIN,
    'doctor',
    '--kubeconfig',
    envtest().adminKubeconfigPath,
    '--operator-namespace',
    opNs,
    '--namespace',
    appNs,
    '--output',
    'json',
    ...extra,
  ]);
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
  operator = await startTestOperator(opNs, shard, { leaderElect: false });
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
      // Someone else holds the Lease: the new instance serves the webhook but never reconciles.
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
      expect(ca.status).toBe('fail');
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
      expect(mwc.status).toBe('fail');
      expect(mwc.reason).toMatch(/does not exist/);
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
