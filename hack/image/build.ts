// Builds the project's images without a Docker engine and without a registry, as OCI archives that
// `ctr images import` takes, cached by content under ~/.cache/sidecar-operator/images:
//
//   operator  the Dockerfile's runtime stage, followed line by line: a debootstrap Debian root
//             filesystem with the packages its RUN installs (in place of node:24-slim's Debian), the
//             pinned Node binary at /usr/local/bin/node (what node:24-slim has there), and every COPY,
//             WORKDIR, ENV, USER and ENTRYPOINT of that stage. A line it cannot follow is an error,
//             so the recipe and the local build cannot drift apart silently.
//   pause     the sandbox image, pause.c from the k8s.io/kubernetes module built statically.
//   fixtures  test images: an application (HTTP server and client) and a proxy fixture, one static
//             Go binary (test/images/fixture).
//
// Usage: node hack/image/build.ts [--broken-path] [--json]
// Prints one line per image, `<reference> <archive>` (or a JSON object with --json).
// --broken-path builds the operator image WITHOUT `sidecar-operator` on PATH, under its own
// reference, for the test that proves the e2e suite notices.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  linkSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { bundle } from '../bundle.ts';
import { parseDockerfile, type RuntimeStage } from './dockerfile.ts';

const repo = join(import.meta.dirname, '..', '..');
const cache =
  process.env.SIDECAR_IMAGE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sidecar-operator', 'images');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };

/** The one reference of this release's image (chart, init container default, make docker-build). */
export const OPERATOR_IMAGE = `ghcr.io/sidecar-operator/sidecar-operator:v${pkg.version}`;
export const BROKEN_OPERATOR_IMAGE = `ghcr.io/sidecar-operator/sidecar-operator:v${pkg.version}-broken-path`;
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
export const APP_IMAGE = 'localhost/sidecar-test/app:v1';
export const PROXY_FIXTURE_IMAGE = 'localhost/sidecar-test/proxy:v1';

function log(msg: string): void {
  process.stderr.write(`image: ${msg}\n`);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A digest of a tree's paths, modes and contents (what decides whether a cached image is stale). */
function hashTree(
  root: string,
  h = createHash('sha256'),
  rel = '',
  skip: (rel: string) => boolean = () => false,
): ReturnType<typeof createHash> {
  const path = join(root, rel);
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort())
      if (!skip(join(rel, name))) hashTree(root, h, join(rel, name), skip);
  } else {
    h.update(`${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    h.update(readFileSync(path));
  }
  return h;
}

interface ImageConfig {
  user?: string;
  env: string[];
  workingDir?: string;
  entrypoint?: string[];
  cmd?: string[];
}

/**
 * Packs layers (bottom first) and a config into an OCI image archive named `ref`. Layer files whose
 * name ends in `.layer` are consumed; others (a shared base layer) are left in place.
 */
async function packOci(ref: string, layerTars: string[], config: ImageConfig, out: string): Promise<void> {
  const layout = `${out}.layout`;
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers: { digest: string; size: number }[] = [];
  for (const tar of layerTars) {
    const digest = await sha256File(tar);
    layers.push({ digest: `sha256:${digest}`, size: statSync(tar).size });
    const blobPath = join(layout, 'blobs', 'sha256', digest);
    if (tar.endsWith('.layer')) renameSync(tar, blobPath);
    else linkSync(tar, blobPath);
  }
  const blob = (obj: unknown): { digest: string; size: number } => {
    const text = JSON.stringify(obj);
    const digest = sha256(text);
    writeFileSync(join(layout, 'blobs', 'sha256', digest), text);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
  };
  const cfg = blob({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: {
      User: config.user,
      Env: config.env,
      WorkingDir: config.workingDir,
      Entrypoint: config.entrypoint,
      Cmd: config.cmd,
      Labels: { 'org.opencontainers.image.version': pkg.version },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: [{ created_by: 'hack/image/build.ts' }],
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
  });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: {
            'io.containerd.image.name': ref,
            'org.opencontainers.image.ref.name': ref.split(':').pop(),
          },
        },
      ],
    }),
  );
  run('tar', ['-cf', `${out}.tmp`, '-C', layout, 'oci-layout', 'index.json', 'blobs']);
  renameSync(`${out}.tmp`, out);
  rmSync(layout, { recursive: true, force: true });
}

/** A layer tar of the given directories, in order (later ones win), owned by root like a COPY. */
function layerOf(dirs: string[], out: string): void {
  const args = ['--numeric-owner', '--owner=0', '--group=0', '--xattrs', '-cf', out];
  for (const d of dirs) args.push('-C', d, '.');
  run('tar', args);
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The Dockerfile's build stage: the bundle of hack/bundle.ts (src/dev left out), cached by what it is
 * made of (sources, lockfile, package.json, the bundler).
 */
async function bundleDir(): Promise<string> {
  const h = hashTree(join(repo, 'src'), undefined, '', (rel) => rel.endsWith('.test.ts'));
  for (const f of ['package.json', 'package-lock.json', join('hack', 'bundle.ts')])
    h.update(`${f}\0`).update(readFileSync(join(repo, f)));
  const dir = join(cache, `bundle-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'main.mjs'))) return dir;
  log('bundling the CLI (hack/bundle.ts)');
  rmSync(`${dir}.tmp`, { recursive: true, force: true });
  await bundle({ shape: 'split', outdir: `${dir}.tmp` });
  renameSync(`${dir}.tmp`, dir);
  return dir;
}

/** Where each COPY source of the runtime stage comes from in a build without Docker. */
function copySource(from: string | undefined, src: string, bundled: string): string {
  if (from === 'build' && src === '/src/bundle') return bundled;
  if (from === undefined && !src.startsWith('/')) return join(repo, src);
  throw new Error(`Dockerfile: the local build cannot follow COPY ${from ? `--from=${from} ` : ''}${src}`);
}

/**
 * What `FROM node:24-slim` gives: the Debian root filesystem and Node at /usr/local/bin/node, as one
 * layer cached by both (so the images built on it share it, and containerd unpacks it once).
 */
function baseImageLayer(rootfsDir: string, nodeBinary: string, nodeVersion: string): string {
  const out = join(cache, `base-${sha256(`${rootfsDir} ${nodeVersion}`).slice(0, 12)}.tar`);
  if (existsSync(out)) return out;
  const stage = join(cache, 'stage-base');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'usr', 'local', 'bin'), { recursive: true });
  copyFileSync(nodeBinary, join(stage, 'usr', 'local', 'bin', 'node'));
  chmodSync(join(stage, 'usr', 'local', 'bin', 'node'), 0o755);
  layerOf([rootfsDir, stage], `${out}.tmp`);
  renameSync(`${out}.tmp`, out);
  rmSync(stage, { recursive: true, force: true });
  return out;
}

/** The root filesystem with the packages the stage's RUN installs (debootstrap, cached). */
function rootfs(stage: RuntimeStage): string {
  return run(join(repo, 'hack', 'image', 'rootfs.sh'), stage.packages).trim();
}

async function buildOperator(opts: { brokenPath: boolean }): Promise<[string, string]> {
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const stage = parseDockerfile(dockerfile);
  const base = rootfs(stage);
  const nodeBinary = join(repo, 'node_modules', 'node', 'bin', 'node');
  const nodeVersion = run(nodeBinary, ['--version']).trim();
  const ref = opts.brokenPath ? BROKEN_OPERATOR_IMAGE : OPERATOR_IMAGE;
  const copies = stage.copies.filter((c) => !(opts.brokenPath && c.dest.startsWith('/usr/local/bin')));
  // The cache key: every input, without staging anything.
  const bundled = await bundleDir();
  const sources = copies.map((c) => ({ ...c, path: copySource(c.from, c.src, bundled) }));
  const inputs = sources.map((c) => `${c.dest} ${hashTree(c.path).digest('hex')}`);
  const key = sha256([ref, 'layers: base, app', dockerfile, base, nodeVersion, ...inputs].join('\n')).slice(
    0,
    16,
  );
  const out = join(cache, `operator-${opts.brokenPath ? 'broken-' : ''}${key}.tar`);
  if (existsSync(out)) return [ref, out];
  log(`packing ${ref}`);
  const baseLayer = baseImageLayer(base, nodeBinary, nodeVersion);
  const stageDir = join(cache, `stage-operator-${key}`);
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  for (const copy of sources) {
    const dest = join(stageDir, copy.dest);
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(copy.path, dest, { recursive: true, dereference: true });
  }
  if (stage.workdir) mkdirSync(join(stageDir, stage.workdir), { recursive: true });
  // Readable by the image's non-root user whatever the checkout's umask was.
  run('chmod', ['-R', 'a+rX,go-w', stageDir]);
  const layer = join(cache, `operator-${key}.layer`);
  layerOf([stageDir], layer);
  await packOci(
    ref,
    [baseLayer, layer],
    {
      user: stage.user,
      env: [DEFAULT_PATH, `NODE_VERSION=${nodeVersion.replace(/^v/, '')}`, ...stage.env],
      workingDir: stage.workdir,
      entrypoint: stage.entrypoint,
      cmd: stage.cmd,
    },
    out,
  );
  rmSync(stageDir, { recursive: true, force: true });
  // Older archives of this image are superseded.
  for (const f of readdirSync(cache)) {
    if (
      f.startsWith(opts.brokenPath ? 'operator-broken-' : 'operator-') &&
      f.endsWith('.tar') &&
      join(cache, f) !== out &&
      !f.includes('broken') === !opts.brokenPath
    )
      rmSync(join(cache, f), { force: true });
  }
  return [ref, out];
}

function kubernetesVersion(): string {
  const text = readFileSync(join(repo, 'hack', 'envtest', 'versions.env'), 'utf8');
  return /^KUBERNETES_VERSION=(\S+)/m.exec(text)![1]!;
}

async function buildPause(): Promise<[string, string]> {
  const v = kubernetesVersion();
  const out = join(cache, `pause-k8s-${v}.tar`);
  if (existsSync(out)) return [PAUSE_IMAGE, out];
  const modcache = run('go', ['env', 'GOMODCACHE']).trim();
  const source = join(modcache, `k8s.io/kubernetes@v${v}`, 'build', 'pause', 'linux', 'pause.c');
  if (!existsSync(source)) throw new Error(`${source} missing: run make envtest first`);
  const stage = join(cache, 'stage-pause');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  run('gcc', ['-Os', '-static', '-o', join(stage, 'pause'), source]);
  run('strip', [join(stage, 'pause')]);
  const layer = `${out}.layer`;
  layerOf([stage], layer);
  await packOci(
    PAUSE_IMAGE,
    [layer],
    { env: [DEFAULT_PATH], entrypoint: ['/pause'], user: '65535:65535' },
    out,
  );
  rmSync(stage, { recursive: true, force: true });
  return [PAUSE_IMAGE, out];
}

async function buildFixtures(): Promise<[string, string][]> {
  const src = join(repo, 'test', 'images', 'fixture');
  const key = hashTree(src).digest('hex').slice(0, 12);
  const results: [string, string][] = [];
  const binDir = join(cache, `fixture-${key}`);
  const bin = join(binDir, 'fixture');
  if (!existsSync(bin)) {
    log('building the test fixture (go build)');
    mkdirSync(binDir, { recursive: true });
    run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', `${bin}.tmp`, '.'], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
    });
    renameSync(`${bin}.tmp`, bin);
  }
  for (const [ref, role] of [
    [APP_IMAGE, 'app'],
    [PROXY_FIXTURE_IMAGE, 'proxy'],
  ] as const) {
    const out = join(cache, `fixture-${role}-${key}-${sha256(ref).slice(0, 8)}.tar`);
    if (!existsSync(out)) {
      const stage = join(cache, `stage-fixture-${role}`);
      rmSync(stage, { recursive: true, force: true });
      mkdirSync(join(stage, 'tmp'), { recursive: true });
      chmodSync(join(stage, 'tmp'), 0o1777);
      copyFileSync(bin, join(stage, 'fixture'));
      chmodSync(join(stage, 'fixture'), 0o755);
      const layer = `${out}.layer`;
      layerOf([stage], layer);
      await packOci(
        ref,
        [layer],
        {
          env: [DEFAULT_PATH],
          entrypoint: ['/fixture', role],
          user: role === 'app' ? '1000:1000' : '1337:1337',
        },
        out,
      );
      rmSync(stage, { recursive: true, force: true });
    }
    results.push([ref, out]);
  }
  return results;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  mkdirSync(cache, { recursive: true });
  const started = Date.now();
  const images: [string, string][] = [];
  images.push(await buildPause());
  images.push(await buildOperator({ brokenPath: false }));
  if (args.includes('--broken-path')) images.push(await buildOperator({ brokenPath: true }));
  images.push(...(await buildFixtures()));
  log(`images ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (args.includes('--json')) process.stdout.write(JSON.stringify(Object.fromEntries(images)) + '\n');
  else for (const [ref, out] of images) process.stdout.write(`${ref} ${out}\n`);
}

if (import.meta.main) await main();
