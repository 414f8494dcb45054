import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileTemplate, injectPod, readPodProxyConfig } from '../inject/index.js';
import { CliError } from './errors.js';
import { writeProxyConfig } from './proxy-config-file.js';
import { bootstrapOf } from './proxy-config-bootstrap.js';

const template = compileTemplate(
  { metadata: { name: 'p' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage: 'init:1' },
);
const injected = injectPod(
  { metadata: { name: 'web-1' }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
  template,
  { namespace: 'apps', operatorNamespace: 'sidecar-system' },
).pod;
const carried = readPodProxyConfig(injected)!;

function initEnv(file: string): Record<string, string> {
  return {
    SIDECAR_PROXY_CONFIG_FILE: file,
    SIDECAR_PROXY_CONFIG: carried.text,
    POD_NAME: 'web-1',
    POD_NAMESPACE: 'apps',
    INSTANCE_IP: '10.1.2.3',
  };
}

describe('writeProxyConfig (what sidecar-init does before the rules)', () => {
  it('writes the file the pod’s environment names, with the pod-start substitutions, readable by the proxy', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'proxy-config-')), 'envoy.yaml');
    const out = writeProxyConfig(initEnv(file), false);
    const text = readFileSync(file, 'utf8');
    expect(out).toEqual({ file, bytes: Buffer.byteLength(text) });
    expect(parse(text).node.id).toBe('web-1.apps');
    expect(text).not.toContain('{{');
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('replaces a file already there (a restarted init container)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'proxy-config-')), 'envoy.yaml');
    writeFileSync(file, 'old');
    writeProxyConfig(initEnv(file), true);
    expect(parse(readFileSync(file, 'utf8')).static_resources.listeners[0].additional_addresses).toHaveLength(
      1,
    );
  });

  it('does nothing without a configuration, and refuses half of one', () => {
    expect(writeProxyConfig({ POD_NAME: 'x' }, false)).toBeUndefined();
    expect(() => writeProxyConfig({ SIDECAR_PROXY_CONFIG: 'a: 1' }, false)).toThrow(CliError);
    const { POD_NAME: _, ...noName } = initEnv('/tmp/x');
    expect(() => writeProxyConfig(noName, false)).toThrow(/POD_NAME not set/);
    expect(() => writeProxyConfig(initEnv('/nonexistent-dir/envoy.yaml'), false)).toThrow(/cannot write/);
  });
});

describe('bootstrapOf (proxy-config bootstrap)', () => {
  it('is what sidecar-init writes for the pod', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'proxy-config-')), 'envoy.yaml');
    writeProxyConfig(initEnv(file), false);
    const pod = {
      ...injected,
      metadata: { ...injected.metadata, namespace: 'apps' },
      status: { podIP: '10.1.2.3' },
    };
    expect(bootstrapOf(pod, 'apps', undefined)).toEqual({ text: readFileSync(file, 'utf8'), notes: [] });
  });

  it('reads IPv6 from the pod’s addresses, and notes what only the pod knows', () => {
    const dual = { ...injected, status: { podIPs: [{ ip: '10.1.2.3' }, { ip: 'fd00::5' }] } };
    expect(bootstrapOf(dual, 'apps', undefined).text).toContain('additional_addresses');
    const unnamed = { ...injected, metadata: { generateName: 'web-' } };
    expect(bootstrapOf(unnamed, 'apps', false).notes).toEqual([
      '{{ podName }} is known only once the pod exists: left as is',
    ]);
  });

  it('says so for a pod that carries no configuration', () => {
    const bare = { metadata: { name: 'old' }, spec: { containers: [{ name: 'sidecar-proxy' }] } };
    expect(() => bootstrapOf(bare, 'apps', false)).toThrow(/carries no proxy configuration/);
  });
});
