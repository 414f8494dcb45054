// The operator image built here follows the Dockerfile (the published recipe): same files, same
// user, same entrypoint; and every place that names this release's image names the same one.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile } from '../../hack/image/dockerfile.ts';
import { DEFAULT_INIT_IMAGE } from '../../src/operator/config.js';
import { buildImages, ROOT } from './support.js';

const tarText = (archive: string, member: string): string => {
  const r = spawnSync('tar', ['-xOf', archive, member], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`tar ${archive} ${member}: ${r.stderr}`);
  return r.stdout;
};

interface Descriptor {
  digest: string;
}

describe('the operator image', () => {
  const images = buildImages();
  const archive = images.archives.find((a) => a.includes('/operator-'))!;
  const index = JSON.parse(tarText(archive, 'index.json')) as {
    manifests: (Descriptor & { annotations: Record<string, string> })[];
  };
  const blob = (d: string): string => tarText(archive, `blobs/sha256/${d.replace('sha256:', '')}`);
  const manifest = JSON.parse(blob(index.manifests[0]!.digest)) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse(blob(manifest.config.digest)) as {
    config: { User: string; Entrypoint: string[]; Env: string[]; WorkingDir: string };
  };
  const stage = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

  it('has the Dockerfile runtime stage’s user, entrypoint, working directory and environment', () => {
    expect(config.config.User).toBe(stage.user);
    expect(config.config.Entrypoint).toEqual(stage.entrypoint);
    expect(config.config.WorkingDir).toBe(stage.workdir);
    for (const e of stage.env) expect(config.config.Env).toContain(e);
    expect(stage.user).toMatch(/^[1-9]\d*:\d+$/); // non-root, numeric
  });

  it('holds every file the Dockerfile copies, and sidecar-operator on PATH as an executable', () => {
    const layers = manifest.layers.map((l) => `blobs/sha256/${l.digest.replace('sha256:', '')}`);
    const list = layers.map((l) => `tar -xOf '${archive}' ${l} | tar -tv`).join('; ');
    const r = spawnSync('bash', ['-c', list], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const entries = new Map<string, string>();
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const path = line
        .split(/\s+/)
        .slice(5)
        .join(' ')
        .replace(/^\.\//, '/')
        .replace(/\/$/, '')
        .split(' -> ')[0]!;
      entries.set(path, line.slice(0, 10));
    }
    for (const copy of stage.copies) expect(entries.has(copy.dest), copy.dest).toBe(true);
    expect(entries.get('/usr/local/bin/sidecar-operator')).toMatch(/^-rwxr-xr-x/);
    expect(entries.has('/usr/local/bin/node')).toBe(true);
    // The bundle (hack/bundle.ts) and nothing else of the build: no compiled tree, no node_modules.
    expect(entries.has('/app/main.mjs')).toBe(true);
    expect([...entries.keys()].some((p) => /^\/app\/chunks\/.+\.mjs$/.test(p))).toBe(true);
    expect([...entries.keys()].filter((p) => /^\/app\/(dist|node_modules)(\/|$)/.test(p))).toEqual([]);
    expect([...entries.keys()].some((p) => /\/sbin\/iptables-restore$/.test(p))).toBe(true);
  });

  it('is named once: the chart, the init container default, make docker-build and the local build agree', () => {
    const chart = parse(readFileSync(join(ROOT, 'charts', 'sidecar-operator', 'Chart.yaml'), 'utf8')) as {
      appVersion: string;
    };
    const values = parse(readFileSync(join(ROOT, 'charts', 'sidecar-operator', 'values.yaml'), 'utf8')) as {
      image: { repository: string; tag: string };
    };
    const chartImage = `${values.image.repository}:${values.image.tag || `v${chart.appVersion}`}`;
    const make = spawnSync('make', ['-s', '--no-print-directory', '-pn', 'docker-build'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const makeImage = /^IMAGE := (.*)$/m.exec(make.stdout)?.[1]?.trim();
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    const resolvedMake = makeImage?.replace('$(VERSION)', version);
    expect(index.manifests[0]!.annotations['io.containerd.image.name']).toBe(DEFAULT_INIT_IMAGE);
    expect(images.operator).toBe(DEFAULT_INIT_IMAGE);
    expect(chartImage).toBe(DEFAULT_INIT_IMAGE);
    expect(resolvedMake).toBe(DEFAULT_INIT_IMAGE);
  });
});
