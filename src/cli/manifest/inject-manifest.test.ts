import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { compileTemplate, type PolicyInput } from '../../inject/index.js';
import { injectManifest, ManifestInjector } from './inject-manifest.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const policy = parse(
  readFileSync(join(import.meta.dirname, '../../inject/testdata/policies/mesh-default.yaml'), 'utf8'),
) as PolicyInput;
const template = compileTemplate(policy, { nativeSidecars: true, initImage });
const options = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

const run = (text: string, patch = false) => injectManifest('m.yaml', text, template, { ...options, patch });
/** How kubectl reads YAML: 1.1 scalars. */
const read11 = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());

type Named = { name: string };
const names = (list: Named[] | undefined) => (list ?? []).map((c) => c.name);

const deployment = (body: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
${body}`;

describe('injectManifest: YAML 1.1, as kubectl reads it', () => {
  const manifest = deployment(`      containers:
      - name: app
        image: registry.example/app:1
        args: [1:20, 0644, yes, "no", 0x1F, 1_000, "on", 'y', "1:20", "0644"]
        env:
        - {name: ENABLED, value: "yes"}
        - {name: MODE, value: "off"}
        - {name: WHEN, value: "1:20"}
      volumes:
      - name: secret
        secret: {secretName: tls, defaultMode: 0644}
      - name: config
        configMap:
          name: cfg
          defaultMode: 0400   # read-only for the owner
`);

  it('keeps octal modes octal, quoted booleans quoted and sexagesimal text as written', () => {
    const { out } = run(manifest);
    expect(out).toContain('secret: {secretName: tls, defaultMode: 0644}');
    expect(out).toContain('defaultMode: 0400   # read-only for the owner');
    expect(out).toContain(`args: [1:20, 0644, yes, "no", 0x1F, 1_000, "on", 'y', "1:20", "0644"]`);
    expect(out).toContain('- {name: ENABLED, value: "yes"}');
    expect(out).toContain('- {name: MODE, value: "off"}');
    const [doc] = read11(out);
    const spec = doc.spec.template.spec;
    expect(spec.volumes[0].secret.defaultMode).toBe(420);
    expect(spec.volumes[1].configMap.defaultMode).toBe(256);
    expect(spec.containers[0].env.map((e: { value: unknown }) => e.value)).toEqual(['yes', 'off', '1:20']);
    expect(names(spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
  });

  it('changes no value it did not add, read as YAML 1.1', () => {
    const [before] = read11(manifest);
    const [after] = read11(run(manifest).out);
    const spec = after.spec.template.spec;
    spec.initContainers = spec.initContainers.filter((c: Named) => !c.name.startsWith('sidecar-'));
    if (spec.initContainers.length === 0) delete spec.initContainers;
    spec.volumes = spec.volumes.filter((v: Named) => v.name !== 'sidecar-config');
    delete after.spec.template.metadata.annotations;
    delete after.spec.template.metadata.labels['sidecar.dev/revision'];
    expect(after).toEqual(before);
  });

  it('quotes what it adds so that YAML 1.1 reads strings as strings', () => {
    const { out } = run(deployment('      containers: [{name: app, image: x}]\n'));
    expect(out).toMatch(/- "15001"\n/);
    expect(out).toMatch(/sidecar\.dev\/revision: "[0-9a-f]{10}"\}/);
    const [doc] = read11(out);
    const init = doc.spec.template.spec.initContainers[0];
    expect(init.args.every((a: unknown) => typeof a === 'string')).toBe(true);
    expect(typeof doc.spec.template.metadata.labels['sidecar.dev/revision']).toBe('string');
  });

  it('reads a plain 1:20 as the string kubectl reads, not as a base-60 number', () => {
    const text = deployment('      containers: [{name: app}]\n').replace(
      'labels: {app: web}',
      'labels: {app: web}\n      annotations: {window: 1:20}',
    );
    const { out, notes } = run(text);
    expect(notes).toEqual([]);
    expect(out).toContain('annotations: {window: 1:20, sidecar.dev/status: ');
  });

  it('refuses a label or annotation YAML 1.1 reads as a boolean, as kubectl does, naming the field', () => {
    const bad = deployment('      containers: [{name: app}]\n').replace(
      'labels: {app: web}',
      'labels: {app: web}\n      annotations: {prometheus.io/scrape: yes}',
    );
    expect(() => run(bad)).toThrow(
      'm.yaml: document 0: Deployment/web: spec.template.metadata.annotations.prometheus.io/scrape: ' +
        'must be a string, not true: YAML reads it as a boolean; quote it',
    );
  });
});

describe('injectManifest: the text around what changes', () => {
  it('keeps comments, key order and untouched documents byte for byte', () => {
    const text = `# Copyright header
---
apiVersion: v1
kind: Service   # in front
metadata: {name: web}
spec:
  ports: [{port: 80}]
---
# the workload
${deployment(`      # the app
      containers:
      - name: app   # main
        image: x
        ports:
        - containerPort: 8080
`)}`;
    const { out } = run(text);
    const [head, service] = text.split('# the workload');
    expect(out.startsWith(head!)).toBe(true);
    expect(service).toBeDefined();
    for (const c of ['# the workload', '# the app', '- name: app   # main']) expect(out).toContain(c);
    expect(out.indexOf('# the app')).toBeLessThan(out.indexOf('- name: app   # main'));
    expect(out.indexOf('initContainers:')).toBeLessThan(out.indexOf('# the app'));
    const keys = Object.keys(read11(out)[1].spec.template.spec);
    expect(keys).toEqual(['initContainers', 'containers', 'volumes']);
  });

  it.each([
    ['a trailing ---', (d: string) => `${d}---\n`],
    ['a leading --- and a trailing ---', (d: string) => `---\n${d}---\n`],
    ['empty documents between', (d: string) => `---\n---\n${d}---\n\n---\n# only a comment\n`],
    ['no final newline', (d: string) => d.trimEnd()],
  ])('accepts %s, copies it and says so', (_what, shape) => {
    const text = shape(deployment('      containers: [{name: app, image: x}]\n'));
    const first = run(text);
    expect(first.out).toContain('sidecar-init');
    const empties = first.notes.filter((n) => n.endsWith(': passed through: empty'));
    expect(empties.length).toBe(parseAllDocuments(text).length - 1);
    const again = run(first.out);
    expect(again.out).toBe(first.out);
    expect(again.notes.filter((n) => n.includes('empty'))).toEqual(empties);
  });

  it('keeps block scalars, null timestamps, empty status and trailing spaces of kube-inject style output', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  name: web
spec:
  selector:
    matchLabels:
      app: web${'  '}
  strategy: {}
  template:
    metadata:
      annotations:
        proxy.example/config: |-
          concurrency: 2
          tracing:
            sampling: 1.0
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - env:
        - name: JSON
          value: |
            {"ports": [80, 0644]}
        image: x
        name: app
        resources: {}
status: {}
---
`;
    const { out } = run(text);
    expect(out).toContain('proxy.example/config: |-\n          concurrency: 2\n');
    expect(out).toContain('value: |\n            {"ports": [80, 0644]}\n');
    expect(out).toContain('creationTimestamp: null');
    expect(out.endsWith('status: {}\n---\n')).toBe(true);
    const [before] = read11(text);
    const [after] = read11(out);
    const meta = after.spec.template.metadata;
    expect(meta.annotations['proxy.example/config']).toBe(
      before.spec.template.metadata.annotations['proxy.example/config'],
    );
    expect(meta.creationTimestamp).toBeNull();
    expect(after.spec.template.spec.containers).toEqual(before.spec.template.spec.containers);
    expect(after.status).toEqual({});
    expect(after.spec.selector).toEqual({ matchLabels: { app: 'web' } });
  });

  it('writes a document whose pod template holds an anchor out whole, with the same values', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: p, labels: &l {app: p}}
spec:
  containers:
  - name: app
    image: x
    args: ["yes", 0644]
  nodeSelector: *l
`;
    const { out, notes } = run(text);
    expect(notes.join('\n')).toContain('document 0 (Pod/p): written out whole, without its comments');
    const [doc] = read11(out);
    expect(doc.spec.containers[0].args).toEqual(['yes', 420]);
    expect(doc.spec.nodeSelector).toEqual({ app: 'p' });
    expect(names(doc.spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
  });

  it('replaces empty values (annotations:, volumes:) the way the API server reads them', () => {
    const text = `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
spec:
  volumes:
  containers: [{name: app}]
`;
    const [doc] = read11(run(text).out);
    expect(Object.keys(doc.metadata.annotations)).toEqual(['sidecar.dev/status']);
    expect(names(doc.spec.volumes)).toEqual(['sidecar-config']);
  });
});

describe('injectManifest: byte for byte where nothing changes', () => {
  const untouched = [
    `# config, with anchors
apiVersion: v1
kind: ConfigMap
metadata: { name:   shared ,  labels: &labels {app: web,   tier: "front"} }
data:
  base: &base   "0644"     # an octal-looking string
  copy: *base
  more:    *labels
  yes:   on
`,
    `apiVersion: v1
kind: Service     # odd spacing kept
metadata:
    name: web
spec:
    ports:
    -   port:  80
        targetPort:   8080
`,
  ];
  const workload = deployment(`      # the app, oddly spaced
      containers:
      -   name:    app      # main
          image:   "registry.example/app:1"
          args:    [ 0644 ,  yes ,  "no" ]
      volumes:
      -   name: data
          emptyDir:   {}
`);
  const text = `${untouched[0]}---
${workload}---
${untouched[1]}`;

  it('copies untouched documents, and the untouched lines of an injected one, as they were', () => {
    const { out, notes } = run(text);
    expect(notes).toEqual([
      'm.yaml: document 0 (ConfigMap/shared): passed through: ConfigMap has no pod template',
      'm.yaml: document 2 (Service/web): passed through: Service has no pod template',
    ]);
    expect(out.startsWith(`${untouched[0]}---\n`)).toBe(true);
    expect(out.endsWith(`---\n${untouched[1]}`)).toBe(true);
    // Every line of the workload is still there, in order; only lines were added (and the labels,
    // a flow map, are written again with ours).
    const lines = out.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {6}labels: \{app: web, sidecar\.dev\/revision: "?\w+"?\}$/),
    );
    let at = 0;
    for (const line of workload.split('\n').filter((l) => !l.includes('labels:'))) {
      const found = lines.indexOf(line, at);
      expect(found, line).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    const [, injected] = read11(out);
    expect(names(injected.spec.template.spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(names(injected.spec.template.spec.volumes)).toEqual(['data', 'sidecar-config']);
  });

  it('gives the same output read in pieces of any size as in one', () => {
    const whole = run(text).out;
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const out: string[] = [];
      const injector = new ManifestInjector('m.yaml', template, options, {
        write: (t) => out.push(t),
        note: () => undefined,
      });
      for (let i = 0; i < text.length; i += size) injector.push(text.slice(i, i + size));
      injector.end();
      expect(out.join(''), `pieces of ${size}`).toBe(whole);
    }
  });

  it('hands over each document before the next one has been read', () => {
    const notes: string[] = [];
    let written = '';
    const injector = new ManifestInjector('m.yaml', template, options, {
      write: (t) => (written += t),
      note: (n) => notes.push(n),
    });
    injector.push(`${untouched[0]}---\n`);
    expect(notes).toEqual([
      'm.yaml: document 0 (ConfigMap/shared): passed through: ConfigMap has no pod template',
    ]);
    expect(written).toBe(untouched[0]);
    injector.push(`${workload}---\n`);
    expect(written).toContain('sidecar-init');
    expect(written).not.toContain('kind: Service');
    injector.push(untouched[1]!);
    injector.end();
    expect(notes).toHaveLength(2);
    expect(written.endsWith(`---\n${untouched[1]}`)).toBe(true);
  });
});

describe('injectManifest: re-injection with a new revision', () => {
  it('removes the old sidecar and adds the new one in place, keeping the rest as written', () => {
    const next = compileTemplate(
      parse(
        readFileSync(join(import.meta.dirname, '../../inject/testdata/policies/mesh-next.yaml'), 'utf8'),
      ) as PolicyInput,
      { nativeSidecars: true, initImage },
    );
    const text = deployment(`      containers:
      - name: app   # the app
        image: x
        args: [0644, "yes"]
      volumes: [{name: data, emptyDir: {}}]
`);
    const first = run(text).out;
    const second = injectManifest('m.yaml', first, next, options);
    expect(second.notes).toEqual([]);
    expect(second.out).toContain('- name: app   # the app');
    expect(second.out).toContain('args: [0644, "yes"]');
    const [a] = read11(first);
    const [b] = read11(second.out);
    const spec = b.spec.template.spec;
    expect(names(spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(spec.initContainers[1].image).toBe('docker.io/envoyproxy/envoy:v1.37.0');
    expect(names(spec.volumes)).toEqual(['data', 'sidecar-config']);
    expect(spec.containers).toEqual(a.spec.template.spec.containers);
    expect(JSON.parse(b.spec.template.metadata.annotations['sidecar.dev/status']).revision).toBe(
      next.revision,
    );
    expect(second.patches[0]!.patch.filter((op) => op.op === 'remove')).toHaveLength(3);
  });
});

describe('injectManifest: what is a workload', () => {
  const template = (kind: string, apiVersion: string, path = 'spec.template') => {
    const inner = `metadata: {labels: {app: w}}\nspec:\n  containers: [{name: app, image: x}]`;
    const indent = (s: string, n: number) => s.replaceAll('\n', `\n${' '.repeat(n)}`);
    if (path === 'spec.jobTemplate.spec.template')
      return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w}\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        ${indent(inner, 8)}\n`;
    return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w}\nspec:\n  replicas: 2\n  template:\n    ${indent(inner, 4)}\n`;
  };

  it.each([
    ['Deployment', 'apps/v1'],
    ['ReplicationController', 'v1'],
    ['DeploymentConfig', 'apps.openshift.io/v1'],
    ['Rollout', 'argoproj.io/v1alpha1'],
    ['StatefulSet', 'apps/v1'],
    ['Job', 'batch/v1'],
    ['SomeFutureWorkload', 'example.com/v1'],
  ])('injects the pod template of a %s at spec.template', (kind, apiVersion) => {
    const { out, notes, patches } = run(template(kind, apiVersion));
    expect(notes).toEqual([]);
    const [doc] = read11(out);
    expect(names(doc.spec.template.spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(doc.spec.replicas).toBe(2);
    expect(patches).toHaveLength(1);
    expect(patches[0]!.patch.every((op) => op.path.startsWith('/spec/template/'))).toBe(true);
  });

  it('injects a CronJob at spec.jobTemplate.spec.template', () => {
    const [doc] = read11(run(template('CronJob', 'batch/v1', 'spec.jobTemplate.spec.template')).out);
    expect(names(doc.spec.jobTemplate.spec.template.spec.initContainers)).toEqual([
      'sidecar-init',
      'sidecar-proxy',
    ]);
  });

  it('injects each item of a List, says what it skipped, and patches items one by one', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: frontend}
  spec: {ports: [{port: 80}]}
- ${template('DeploymentConfig', 'apps.openshift.io/v1').trimEnd().replaceAll('\n', '\n  ')}
- apiVersion: kubevirt.io/v1
  kind: VirtualMachine
  metadata: {name: vm}
  spec:
    template:
      spec: {domain: {devices: {}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: host}
  spec: {hostNetwork: true, containers: [{name: app}]}
`;
    const { out, notes } = run(text);
    expect(notes).toEqual([
      'm.yaml: document 0 item 0 (Service/frontend): passed through: Service has no pod template',
      "m.yaml: document 0 item 2 (VirtualMachine/vm): passed through: VirtualMachine's spec.template has no spec.containers",
      'm.yaml: document 0 item 3 (Pod/host): not injected: HostNetwork: pod uses the host network, where interception would capture the node’s traffic',
    ]);
    const [list] = read11(out);
    const [input] = read11(text);
    expect(list.items[0]).toEqual(input.items[0]);
    expect(names(list.items[1].spec.template.spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(list.items[2]).toEqual(input.items[2]);
    expect(list.items[3]).toEqual(input.items[3]);

    const { patches } = run(text, true);
    expect(patches.map((p) => [p.document, p.item, p.kind, p.name])).toEqual([
      [0, 1, 'DeploymentConfig', 'w'],
    ]);
    const applied = jsonpatch.applyPatch(
      structuredClone(input.items[1]),
      patches[0]!.patch as jsonpatch.Operation[],
      true,
      false,
    ).newDocument;
    expect(applied).toEqual(list.items[1]);
  });

  it('notes every document it does not inject, and nothing for those it injects', () => {
    const text = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\n',
      'just: a map\n',
      template('Deployment', 'apps/v1'),
      'apiVersion: v1\nkind: List\nitems: []\n',
    ].join('---\n');
    expect(run(text).notes).toEqual([
      'm.yaml: document 0 (ConfigMap/c): passed through: ConfigMap has no pod template',
      'm.yaml: document 1 ((no kind)): passed through: an object without a kind has no pod template',
      'm.yaml: document 3 (List): passed through: a list with no items',
    ]);
  });

  it('skips a workload another mesh already injected, with its reason, and leaves it as written', () => {
    const text = deployment(`      initContainers:
      - {name: istio-init, image: docker.io/istio/proxyv2:1.27.0}
      containers:
      - {name: app, image: x}
      - {name: istio-proxy, image: docker.io/istio/proxyv2:1.27.0}
`);
    const { out, notes } = run(text);
    expect(out).toBe(text);
    expect(notes).toEqual([
      'm.yaml: document 0 (Deployment/web): not injected: AlreadyMeshed: pod already carries another mesh’s sidecar (Istio: istio-init, istio-proxy); a second would capture the same traffic twice (--uninject removes it)',
    ]);
  });
});

describe('injectManifest --uninject', () => {
  const uninject = (text: string) =>
    injectManifest('m.yaml', text, undefined, { ...options, uninject: true });

  it('takes our sidecar out again: the values read back as they were', () => {
    const text = deployment(`      containers:
      - name: app   # the app
        image: x
        args: [0644, "yes"]
      volumes: [{name: data, emptyDir: {}}]
`);
    const { out, notes } = uninject(run(text).out);
    expect(notes).toEqual([
      'm.yaml: document 0 (Deployment/web): removed sidecar-operator (sidecar-init, sidecar-proxy)',
    ]);
    expect(read11(out)).toEqual(read11(text));
    expect(out).toContain('- name: app   # the app');
    expect(out).toContain('args: [0644, "yes"]');
  });

  it('moves an Istio-injected workload over: uninject, then inject', () => {
    const text = deployment(`      initContainers:
      - name: istio-init
        image: docker.io/istio/proxyv2:1.27.0
      containers:
      - name: app
        image: x
        readinessProbe:
          httpGet: {path: /app-health/app/readyz, port: 15020}
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.27.0
        env:
        - name: ISTIO_KUBE_APP_PROBERS
          value: '{"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080}}}'
      volumes:
      - {name: istio-envoy, emptyDir: {medium: Memory}}
`).replace(
      'labels: {app: web}',
      'labels: {app: web, security.istio.io/tlsMode: istio}\n      annotations:\n        sidecar.istio.io/status: \'{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"]}\'',
    );
    const clean = uninject(text);
    expect(clean.notes).toEqual([
      'm.yaml: document 0 (Deployment/web): removed Istio (istio-init, istio-proxy)',
    ]);
    const [doc] = read11(clean.out);
    expect(doc.spec.template).toEqual({
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'x', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } },
        ],
      },
    });
    const moved = run(clean.out);
    expect(moved.notes).toEqual([]);
    const [ours] = read11(moved.out);
    expect(names(ours.spec.template.spec.initContainers)).toEqual(['sidecar-init', 'sidecar-proxy']);
    const { patches } = injectManifest('m.yaml', text, undefined, {
      ...options,
      uninject: true,
      patch: true,
    });
    expect(
      jsonpatch.applyPatch(read11(text)[0], patches[0]!.patch as jsonpatch.Operation[]).newDocument,
    ).toEqual(doc);
  });

  it('also clears the marks kube-inject leaves on a CronJob’s job template', () => {
    const status =
      '{"initContainers":["istio-init","istio-proxy"],"volumes":["istio-envoy"],"revision":"default"}';
    const text = `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    metadata:
      annotations:
        istio.io/rev: default
        sidecar.istio.io/status: '${status}'
      labels: {security.istio.io/tlsMode: istio}
    spec:
      template:
        metadata: {}
        spec:
          initContainers:
          - {name: istio-init, image: docker.io/istio/proxyv2:1.27.0}
          - {name: istio-proxy, image: docker.io/istio/proxyv2:1.27.0, restartPolicy: Always}
          containers: [{name: report, image: x}]
          volumes: [{name: istio-envoy, emptyDir: {}}]
`;
    const [doc] = read11(uninject(text).out);
    expect(doc.spec.jobTemplate).toEqual({
      metadata: {},
      spec: { template: { metadata: {}, spec: { containers: [{ name: 'report', image: 'x' }] } } },
    });
  });

  it('says which documents had nothing to remove', () => {
    const text =
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n' +
      deployment('      containers: [{name: app}]\n');
    const { out, notes } = uninject(text);
    expect(out).toBe(text);
    expect(notes).toEqual([
      'm.yaml: document 0 (Service/s): passed through: Service has no pod template',
      'm.yaml: document 1 (Deployment/web): passed through: no sidecar to remove',
    ]);
  });
});

describe('injectManifest with compatibility.istio', () => {
  const istio = compileTemplate(
    parse(
      readFileSync(join(import.meta.dirname, '../../inject/testdata/policies/istio-compat.yaml'), 'utf8'),
    ) as PolicyInput,
    { nativeSidecars: true, initImage },
  );
  const pod = (name: string, annotations: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {mesh: "on"}
  annotations: ${annotations}
spec:
  containers:
  - {name: app, image: registry.example/app:1}
`;
  const manifest = [
    pod('ports', `{traffic.sidecar.istio.io/excludeInboundPorts: "*"}`),
    pod('ignored', `{sidecar.istio.io/inject: "false"}`),
    pod('ranges', `{traffic.sidecar.istio.io/includeOutboundIPRanges: bad}`),
    pod('fine', `{traffic.sidecar.istio.io/excludeOutboundPorts: "25"}`),
  ].join('---\n');

  it('names every pod the webhook would refuse, and why, and skips the opted-out one', () => {
    const { refused, notes } = injectManifest('m.yaml', manifest, istio, options);
    expect(refused).toEqual(['m.yaml: document 0 (Pod/ports)', 'm.yaml: document 2 (Pod/ranges)']);
    expect(notes).toContainEqual(
      expect.stringMatching(
        /^m\.yaml: document 0 \(Pod\/ports\): refused: InvalidIstioAnnotation: pod refused: invalid value "\*" for annotation traffic\.sidecar\.istio\.io\/excludeInboundPorts/,
      ),
    );
    expect(notes).toContainEqual(
      'm.yaml: document 1 (Pod/ignored): not injected: OptedOut: pod opted out with annotation sidecar.istio.io/inject=false',
    );
  });

  it('with the policy’s own opt-out only, Istio’s marks are not read', () => {
    const { refused, notes } = injectManifest('m.yaml', manifest, template, options);
    expect(refused).toEqual([]);
    expect(notes.filter((n) => n.includes('not injected'))).toEqual([]);
  });
});

describe('injectManifest with the namespace’s labels', () => {
  const pod = (namespace: string) => `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${namespace}}
spec:
  containers:
  - {name: app, image: registry.example/app:1}
`;
  const selecting = compileTemplate(
    {
      metadata: { name: 'by-labels' },
      spec: {
        selector: {
          namespaceSelector: {
            matchLabels: { mesh: 'on' },
            matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['legacy'] }],
          },
        },
      },
    },
    { nativeSidecars: true, initImage },
  );
  const run = (namespace: string, namespaceLabels?: Record<string, string>) =>
    injectManifest('m.yaml', pod(namespace), selecting, { ...options, namespaceLabels }).notes;

  it('applies the namespaceSelector, the namespace’s name label included', () => {
    expect(run('shop', { mesh: 'on' })).toEqual([]);
    expect(run('shop', {})).toEqual([
      'm.yaml: document 0 (Pod/web): not injected: NamespaceNotSelected: namespace shop is not selected by the policy',
    ]);
    expect(run('legacy', { mesh: 'on' })[0]).toContain('NamespaceNotSelected');
    expect(run('shop', { mesh: 'on', 'sidecar.dev/injection': 'disabled' })[0]).toContain(
      'NamespaceDisabled',
    );
  });

  it('without them, does not check the selection', () => {
    expect(run('shop')).toEqual([]);
  });
});
