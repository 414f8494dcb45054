// The chart's policy guard (a ValidatingAdmissionPolicy) on the real API server: what a policy
// author without special rights may and may not ask for, with the chart's defaults and with strict
// values; updates that leave the spec alone always pass.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GROUP, PLURAL, policyPath, VERSION } from '../src/api/index.js';
import { apiFailure, jsonPatch } from '../src/kube/index.js';
import { adminKubeConfig, envtest, eventually, userKubeConfig } from './support.js';

const CHART = join(import.meta.dirname, '..', 'charts', 'sidecar-operator');
const id = randomBytes(3).toString('hex');
const AUTHOR = `author-${id}`;
const LABEL = 'guard-test';

interface Guarded {
  policy: { metadata: { name: string } };
  binding: { metadata: { name: string }; spec: Record<string, unknown> };
}

/** The guard as `helm template` renders it with `sets`, its binding narrowed to this file's policies. */
function render(release: string, sets: string[]): Guarded {
  const r = spawnSync(
    envtest().binaries.helm,
    [
      'template',
      release,
      CHART,
      '-n',
      'ops',
      '--api-versions',
      'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
      '--show-only',
      'templates/policy-guard.yaml',
      ...sets.flatMap((s) => ['--set', s]),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`helm template: ${r.stderr}`);
  const [policy, binding] = parseAllDocuments(r.stdout).map((d) => d.toJS() as Guarded['binding']);
  // Other test files share this API server: the binding applies only to policies labelled for it.
  binding!.spec.matchResources = { objectSelector: { matchLabels: { [LABEL]: release } } };
  return { policy: policy!, binding: binding! };
}

const admin = adminKubeConfig();
const vaps = admin.makeApiClient(AdmissionregistrationV1Api);
let author: KubeConfig;
let platformAdmin: KubeConfig;

async function install(g: Guarded): Promise<void> {
  await vaps.createValidatingAdmissionPolicy({ body: g.policy });
  await vaps.createValidatingAdmissionPolicyBinding({ body: g.binding as never });
  afterAll(async () => {
    await vaps.deleteValidatingAdmissionPolicyBinding({ name: g.binding.metadata.name }).catch(() => {});
    await vaps.deleteValidatingAdmissionPolicy({ name: g.policy.metadata.name }).catch(() => {});
  });
}

type Spec = Record<string, unknown>;

function policy(release: string, name: string, spec: Spec) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'SidecarPolicy',
    metadata: { name: `${name}-${id}`, labels: { [LABEL]: release } },
    spec: { selector: { namespaces: [`app-${id}`] }, ...spec },
  };
}

/** Creates the policy as `kc` (dry run unless `keep`); the refusal's message, or undefined if allowed. */
async function create(kc: KubeConfig, body: object, keep = false): Promise<string | undefined> {
  try {
    await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      body,
      dryRun: keep ? undefined : 'All',
    });
    return undefined;
  } catch (err) {
    const f = apiFailure(err);
    if (f.code !== 403 && f.code !== 422) throw err;
    return f.message;
  }
}

/** Waits until the guard answers (bindings take a moment to reach the admission chain). */
async function guardActive(release: string, refused: Spec): Promise<void> {
  await eventually(
    async () => ((await create(author, policy(release, 'probe', refused))) ? true : undefined),
    {
      what: `the guard of ${release} in force`,
      timeoutMs: 30_000,
    },
  );
}

beforeAll(async () => {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const name = `policy-author-${id}`;
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: [
        {
          apiGroups: [GROUP],
          resources: [PLURAL],
          verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
        },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: AUTHOR },
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `platform-${id}` },
      ],
    },
  });
  afterAll(async () => {
    await rbac.deleteClusterRoleBinding({ name }).catch(() => {});
    await rbac.deleteClusterRole({ name }).catch(() => {});
  });
  author = await userKubeConfig(AUTHOR);
  platformAdmin = await userKubeConfig(`admin-${id}`, [`platform-${id}`]);
}, 60_000);

describe('policy guard with the chart’s defaults', () => {
  const release = `defaults-${id}`;
  beforeAll(async () => {
    await install(render(release, []));
    await guardActive(release, { priority: 1001 });
  }, 60_000);

  it('refuses the control-plane namespaces and a priority over the ceiling, naming the field', async () => {
    expect(
      await create(author, policy(release, 'sys', { selector: { namespaces: ['shop', 'kube-system'] } })),
    ).toMatch(/spec\.selector\.namespaces: kube-system may not be governed by a SidecarPolicy/);
    expect(await create(author, policy(release, 'prio', { priority: 1_000_000 }))).toMatch(
      /spec\.priority: 1000000 is above the ceiling of 1000/,
    );
  });

  it('lets an ordinary policy through: any image, Restart rollouts, Secrets, a label selector', async () => {
    expect(
      await create(
        author,
        policy(release, 'ok', {
          priority: 1000,
          selector: { namespaceSelector: { matchLabels: { mesh: 'on' } } },
          proxy: {
            image: 'docker.io/envoyproxy/envoy:v1.36.2',
            env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
          },
          rollout: { strategy: 'Restart' },
        }),
      ),
    ).toBeUndefined();
  });
});

describe('policy guard with strict values', () => {
  const release = `strict-${id}`;
  beforeAll(async () => {
    await install(
      render(release, [
        'policyGuard.imagePrefixes={registry.example/mesh/}',
        'policyGuard.requireNamespaceNames=true',
        'policyGuard.allowRolloutRestart=false',
        'policyGuard.allowSecrets=false',
        'policyGuard.maxPriority=10',
        `policyGuard.exemptGroups={platform-${id}}`,
      ]),
    );
    await guardActive(release, { priority: 11 });
  }, 60_000);

  const good = { proxy: { image: 'registry.example/mesh/envoy:1' } };

  it.each([
    [
      'a proxy image from elsewhere',
      { proxy: { image: 'attacker.example/proxy:1' } },
      /spec\.proxy\.image: attacker\.example\/proxy:1 is not from an allowed registry \(registry\.example\/mesh\/\)/,
    ],
    [
      'an init image from elsewhere',
      { ...good, init: { image: 'docker.io/x/init:1' } },
      /spec\.init\.image: docker\.io\/x\/init:1 is not from an allowed registry/,
    ],
    [
      'a namespace selector',
      { ...good, selector: { namespaceSelector: { matchLabels: { a: 'b' } } } },
      /spec\.selector\.namespaceSelector: not allowed here/,
    ],
    [
      'rollout Restart',
      { ...good, rollout: { strategy: 'Restart' } },
      /spec\.rollout\.strategy: Restart is not allowed here/,
    ],
    [
      'a Secret in the proxy env',
      {
        proxy: { ...good.proxy, env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
      },
      /spec\.proxy\.env: valueFrom\.secretKeyRef is not allowed here/,
    ],
    [
      'a secret volume',
      {
        ...good,
        volumes: [{ name: 'v', secret: { secretName: 's' } }],
        proxy: { ...good.proxy, volumeMounts: [{ name: 'v', mountPath: '/v' }] },
      },
      /spec\.volumes: secret volumes are not allowed here/,
    ],
  ])('refuses %s', async (_what, spec, message) => {
    expect(await create(author, policy(release, 'bad', spec))).toMatch(message);
  });

  it('accepts a policy within the limits, and an exempt group’s policy beyond them', async () => {
    expect(await create(author, policy(release, 'fine', { ...good, priority: 10 }))).toBeUndefined();
    expect(
      await create(platformAdmin, policy(release, 'exempt', { rollout: { strategy: 'Restart' } })),
    ).toBeUndefined();
  });

  it('checks a spec change, but never an update that leaves the spec alone (status, finalizers, labels)', async () => {
    // Written by an exempt identity, beyond the limits, as a policy from before the guard would be.
    const old = policy(release, 'legacy', { rollout: { strategy: 'Restart' } });
    expect(await create(platformAdmin, old, true)).toBeUndefined();
    const name = old.metadata.name;
    afterAll(async () => {
      await admin
        .makeApiClient(CustomObjectsApi)
        .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })
        .catch(() => {});
    });
    const patch = (ops: object[]) => jsonPatch(author, policyPath(name), ops);
    await expect(
      patch([
        { op: 'add', path: '/metadata/finalizers', value: ['sidecar.dev/cleanup'] },
        { op: 'add', path: '/metadata/labels/team', value: 'a' },
      ]),
    ).resolves.toBeDefined();
    const refused = await patch([{ op: 'add', path: '/spec/priority', value: 5 }]).then(
      () => undefined,
      (err: unknown) => apiFailure(err).message,
    );
    // The first rule it breaks: its image is the CRD's default, from outside the allowed registry.
    expect(refused).toMatch(
      /denied request: spec\.proxy\.image: docker\.io\/envoyproxy\/envoy:v[\d.]+ is not from an allowed registry/,
    );
    await patch([{ op: 'remove', path: '/metadata/finalizers' }]);
  });
});
