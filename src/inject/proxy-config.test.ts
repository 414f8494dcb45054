import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { SidecarPolicySpec } from '../api/index.js';
import { compileTemplate, injectPod, type Container, type Pod } from './index.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const selector = { namespaces: ['apps'] };

function compile(spec: Omit<SidecarPolicySpec, 'selector'>, nativeSidecars = true, sleepAction = true) {
  return compileTemplate(
    { metadata: { name: 'p' }, spec: { selector, ...spec } },
    { nativeSidecars, initImage, sleepAction },
  );
}

const pod = (extra: Partial<Pod> = {}): Pod => ({
  metadata: { name: 'web', ...extra.metadata },
  spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }], ...extra.spec },
});

function containers(p: Pod): Container[] {
  return [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
}

function named(p: Pod, name: string): Container {
  const c = containers(p).find((x) => x.name === name);
  if (!c) throw new Error(`no ${name}`);
  return c;
}

const env = (c: Container): { name: string; value?: string; valueFrom?: unknown }[] =>
  (c.env as { name: string; value?: string }[] | undefined) ?? [];

const minimalTemplate = [
  'static_resources:',
  '  listeners:',
  '    - {name: o, transparent: {{ transparent }}, address: {socket_address: {address: 0.0.0.0, port_value: {{ outboundPort }}}}}',
  '    - {name: i, address: {socket_address: {address: 0.0.0.0, port_value: {{ inboundPort }}}}}',
  '    - {name: h, address: {socket_address: {address: 0.0.0.0, port_value: {{ healthPort }}}}}',
  'node: {id: "{{ podName }}", cluster: "{{ policy }}"}',
  '',
].join('\n');

describe('the proxy configuration in the compiled template', () => {
  it('renders one file for the policy’s interception mode, both capture modes when pods may switch', () => {
    expect(Object.keys(compile({}).proxyConfig!.content)).toEqual(['REDIRECT']);
    const switchable = compile({ injection: { allowedOverrides: ['interceptionMode'] } });
    expect(Object.keys(switchable.proxyConfig!.content)).toEqual(['REDIRECT', 'TPROXY']);
    expect(switchable.proxyConfig!.content.TPROXY).toContain('transparent: true');
    expect(switchable.proxyConfig!.content.REDIRECT).not.toContain('transparent');
  });

  it('is covered by the revision', () => {
    expect(compile({ proxy: { ports: { metrics: 16090 } } }).revision).not.toBe(compile({}).revision);
    const a = compile({ proxy: { bootstrap: { mode: 'Template', template: minimalTemplate } } });
    const b = compile({ proxy: { bootstrap: { mode: 'Template', template: `${minimalTemplate}# v2\n` } } });
    expect(a.revision).not.toBe(b.revision);
  });

  it('makes the compile-time substitutions of a template and leaves the pod-start ones', () => {
    const t = compile({
      injection: { allowedOverrides: ['interceptionMode'] },
      proxy: { bootstrap: { mode: 'Template', template: minimalTemplate } },
    });
    const redirect = parse(t.proxyConfig!.content.REDIRECT!.replace('{{ podName }}', 'x'));
    expect(redirect.static_resources.listeners[0]).toMatchObject({ transparent: false });
    expect(redirect.static_resources.listeners[0].address.socket_address.port_value).toBe(15001);
    expect(redirect.node.cluster).toBe('p');
    expect(t.proxyConfig!.content.TPROXY).toContain('transparent: true');
    expect(t.proxyConfig!.content.REDIRECT).toContain('{{ podName }}');
  });

  it('refuses a template without the listeners the pod needs, or with an unknown substitution', () => {
    const noInbound = minimalTemplate.replace('{{ inboundPort }}', '9999');
    expect(() => compile({ proxy: { bootstrap: { mode: 'Template', template: noInbound } } })).toThrow(
      'no listener on the inbound capture port 15006',
    );
    // Without interception only the health port is needed.
    expect(() =>
      compile({
        interception: { mode: 'None' },
        proxy: { bootstrap: { mode: 'Template', template: noInbound } },
      }),
    ).not.toThrow();
    const typo = `${minimalTemplate}x: {{ metricPort }}\n`;
    expect(() => compile({ proxy: { bootstrap: { mode: 'Template', template: typo } } })).toThrow(
      'unknown substitution {{ metricPort }}',
    );
  });

  it('with bootstrap None: no file, no flags of ours, and no init container without interception', () => {
    const t = compile({
      interception: { mode: 'None' },
      proxy: { bootstrap: { mode: 'None' }, args: ['--config-path', '/own.yaml'] },
    });
    expect(t.proxyConfig).toBeUndefined();
    expect(t.initContainer).toBeUndefined();
    expect(t.proxyContainer.args).toEqual(['--config-path', '/own.yaml']);
  });

  it('refuses proxy args that repeat the flags it sets, and mounts of undeclared volumes', () => {
    expect(() => compile({ proxy: { args: ['--config-path', '/etc/sidecar/envoy.yaml'] } })).toThrow(
      'proxy.args: --config-path is set by the operator',
    );
    expect(() => compile({ proxy: { args: ['--drain-time-s=9'] } })).toThrow(/--drain-time-s=9/);
    expect(() => compile({ proxy: { volumeMounts: [{ name: 'certs', mountPath: '/certs' }] } })).toThrow(
      'names volume certs, which spec.volumes does not declare',
    );
    const over = {
      volumes: [{ name: 'c', emptyDir: {} }],
      proxy: { volumeMounts: [{ name: 'c', mountPath: '/etc/sidecar/proxy/x' }] },
    };
    expect(() => compile(over)).toThrow(/would cover the proxy's configuration volume/);
  });

  it('points the proxy at the file, then passes the policy’s command and args', () => {
    const t = compile({
      proxy: { command: ['/usr/local/bin/envoy'], args: ['--log-level', 'debug'], drainSeconds: 20 },
    });
    expect(t.proxyContainer.command).toEqual(['/usr/local/bin/envoy']);
    expect(t.proxyContainer.args).toEqual([
      '--config-path',
      '/etc/sidecar/proxy/envoy.yaml',
      '--drain-time-s',
      '20',
      '--drain-strategy',
      'immediate',
      '--disable-hot-restart',
      '--log-level',
      'debug',
    ]);
  });
});

describe('what a pod gets', () => {
  const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

  it('has sidecar-init write the configuration into the proxy’s memory volume', () => {
    const t = compile({});
    const out = injectPod(pod(), t, ctx).pod;
    const init = named(out, 'sidecar-init');
    expect((init.args as string[])[0]).toBe('iptables');
    expect(env(init).find((e) => e.name === 'SIDECAR_PROXY_CONFIG_FILE')?.value).toBe(
      '/etc/sidecar/proxy/envoy.yaml',
    );
    expect(env(init).find((e) => e.name === 'SIDECAR_PROXY_CONFIG')?.value).toBe(
      t.proxyConfig!.content.REDIRECT,
    );
    expect(
      env(init)
        .map((e) => e.name)
        .slice(0, 2),
    ).toEqual(['POD_NAME', 'POD_NAMESPACE']);
    expect(init.volumeMounts).toEqual([{ name: 'sidecar-config', mountPath: '/etc/sidecar/proxy' }]);
    expect(named(out, 'sidecar-proxy').volumeMounts).toEqual([
      { name: 'sidecar-config', mountPath: '/etc/sidecar/proxy' },
    ]);
  });

  it('without interception, has sidecar-init only write the file, unprivileged', () => {
    const out = injectPod(pod(), compile({ interception: { mode: 'None' } }), ctx).pod;
    const init = named(out, 'sidecar-init');
    expect(init.args).toEqual(['proxy-config', 'write']);
    expect(init.securityContext).toMatchObject({
      runAsUser: 1337,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(JSON.stringify(init.securityContext)).not.toContain('NET_ADMIN');
    expect(env(init).find((e) => e.name === 'SIDECAR_PROXY_CONFIG')?.value).not.toContain('outbound');
  });

  it('says so when an annotation asks a policy without interception to capture', () => {
    const t = compile({
      interception: { mode: 'None' },
      injection: { allowedOverrides: ['interceptionMode'] },
    });
    const annotated = pod({
      metadata: { name: 'g', annotations: { 'traffic.sidecar.dev/interceptionMode': 'TPROXY' } },
    });
    const r = injectPod(annotated, t, ctx);
    expect(r.warnings).toEqual([
      expect.objectContaining({
        reason: 'OverrideNotAllowed',
        subject: 'traffic.sidecar.dev/interceptionMode',
      }),
    ]);
    expect(named(r.pod, 'sidecar-init').args).toEqual(['proxy-config', 'write']);
    expect(JSON.stringify(named(r.pod, 'sidecar-proxy').securityContext)).not.toContain('NET_ADMIN');
  });

  it('switched to TPROXY by annotation: transparent listeners and NET_ADMIN for the proxy; back again too', () => {
    const t = compile({ injection: { allowedOverrides: ['interceptionMode'] } });
    const tp = injectPod(
      pod({ metadata: { name: 'g', annotations: { 'traffic.sidecar.dev/interceptionMode': 'TPROXY' } } }),
      t,
      ctx,
    ).pod;
    expect(env(named(tp, 'sidecar-init')).find((e) => e.name === 'SIDECAR_PROXY_CONFIG')?.value).toBe(
      t.proxyConfig!.content.TPROXY,
    );
    expect(named(tp, 'sidecar-proxy').securityContext).toMatchObject({
      capabilities: { add: ['NET_ADMIN'] },
    });
    const t2 = compile({
      interception: { mode: 'TPROXY' },
      injection: { allowedOverrides: ['interceptionMode'] },
    });
    const back = injectPod(
      pod({ metadata: { name: 'g', annotations: { 'traffic.sidecar.dev/interceptionMode': 'REDIRECT' } } }),
      t2,
      ctx,
    ).pod;
    expect(named(back, 'sidecar-proxy').securityContext).toMatchObject({ capabilities: { drop: ['ALL'] } });
    expect(JSON.stringify(named(back, 'sidecar-proxy').securityContext)).not.toContain('NET_ADMIN');
  });

  it('gives the proxy POD_NAME once, the policy’s own when it sets it', () => {
    const own = { name: 'POD_NAME', value: 'fixed' };
    const out = injectPod(pod(), compile({ proxy: { env: [own] } }), ctx).pod;
    const vars = env(named(out, 'sidecar-proxy'));
    expect(vars.filter((e) => e.name === 'POD_NAME')).toEqual([own]);
    expect(vars.map((e) => e.name)).toEqual(['POD_NAMESPACE', 'INSTANCE_IP', 'POD_NAME']);
  });

  it('adds the policy’s volumes and mounts them into the proxy, and records them', () => {
    const spec = {
      volumes: [{ name: 'xds-certs', secret: { secretName: 's' } }],
      proxy: { volumeMounts: [{ name: 'xds-certs', mountPath: '/etc/xds', readOnly: true }] },
    };
    const out = injectPod(pod(), compile(spec), ctx).pod;
    expect(out.spec?.volumes?.map((v) => v.name)).toEqual(['sidecar-config', 'xds-certs']);
    expect(named(out, 'sidecar-proxy').volumeMounts).toContainEqual({
      name: 'xds-certs',
      mountPath: '/etc/xds',
      readOnly: true,
    });
    expect(JSON.parse(out.metadata!.annotations!['sidecar.dev/status']!).volumes).toEqual([
      'sidecar-config',
      'xds-certs',
    ]);
  });

  it('drains before the proxy stops: a preStop pause of drainSeconds', () => {
    const lifecycle = (t: ReturnType<typeof compile>) =>
      t.proxyContainer.lifecycle as Record<string, unknown> | undefined;
    expect(lifecycle(compile({ proxy: { drainSeconds: 12 } }))?.preStop).toEqual({ sleep: { seconds: 12 } });
    expect(lifecycle(compile({ proxy: { drainSeconds: 12 } }, false))?.preStop).toEqual({
      sleep: { seconds: 12 },
    });
    expect(lifecycle(compile({ proxy: { drainSeconds: 12 } }, false, false))?.preStop).toEqual({
      exec: { command: ['sleep', '12'] },
    });
    expect(lifecycle(compile({ proxy: { drainSeconds: 0 } }))).toBeUndefined();
    expect(lifecycle(compile({ proxy: { drainSeconds: 0 } }, false))?.preStop).toBeUndefined();
  });

  it('warns that a Classic proxy keeps a pod meant to complete running', () => {
    const job = pod({ spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'j:1' }] } });
    const classic = injectPod(job, compile({}, false), ctx);
    expect(classic.decision.inject).toBe(true);
    expect(classic.warnings.map((w) => w.reason)).toEqual(['ProxyNeverExits']);
    expect(classic.warnings[0]?.message).toMatch(/^spec\.restartPolicy is Never .*sidecarMode Native/);
    expect(injectPod(job, compile({}, true), ctx).warnings).toEqual([]);
    expect(injectPod(pod(), compile({}, false), ctx).warnings).toEqual([]);
  });
});
