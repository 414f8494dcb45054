// Bundles the CLI (src/cli/main.ts and everything it imports, dependencies included) with esbuild,
// in two shapes: the operator's image runs the split ES module bundle (a replica then loads a few
// files instead of some 1,500 modules: about 60 MiB less memory at start, bench/replica), and the
// single-file executables of `make dist` embed the executable shape.
//
//   node hack/bundle.ts <outfile>
//
// What the bundle changes: the version is a constant (package.json is not beside it; the CRD's
// schema is already a generated module), and src/dev (the demo and the test control plane, which
// need a checkout) is left out: importing it throws ERR_MODULE_NOT_FOUND, which `demo` explains.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');

function bundlePlugin(): Plugin {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    name: 'sidecar-operator-bundle',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]operator[\\/]package-version\.ts$/ }, () => ({
        loader: 'ts',
        contents: `export const version: string = ${JSON.stringify(pkg.version)};`,
      }));
      b.onResolve({ filter: /[\\/]dev[\\/]/ }, (args) =>
        join(args.resolveDir, args.path).startsWith(join(ROOT, 'src', 'dev'))
          ? { path: args.path, namespace: 'left-out' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
        loader: 'js',
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not part of this build`)}), { code: 'ERR_MODULE_NOT_FOUND' });`,
      }));
    },
  };
}

/**
 * `split`: an ES module entry, `<outdir>/main.mjs`, with a chunk per
 * lazily loaded command, as the compiled tree loads them: a command loads only its own code (the
 * init container's `iptables` does not load the Kubernetes client). `executable`: what a
 * single-file executable embeds (see `bundleExecutable`).
 */
export type BundleShape = { shape: 'split'; outdir: string } | { shape: 'executable'; outdir: string };

/** The subcommands, each `src/cli/commands/<name>.ts` exporting `register` (src/cli/program.ts). */
export function commandNames(): string[] {
  return readdirSync(join(ROOT, 'src', 'cli', 'commands'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A command's file is compiled as a function of these, as Node wraps a CommonJS module. */
export const COMMAND_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** What a command's bundle takes from the entry's instead of carrying its own copy. */
const SHARED: Record<string, string> = {
  // Commands are built with the entry's Command, and its errors are what main.ts catches.
  commander: 'commander',
  [join(ROOT, 'src', 'cli', 'errors.ts')]: '#cli-errors',
};

/**
 * A single-file executable's code (Node's SEA runs one CommonJS file, whose `import()` it does not
 * support): `<outdir>/main.cjs`, the entry with the command tree, and `<outdir>/commands/<name>.cjs`
 * per subcommand, embedded as the executable's assets. The entry compiles a command's file only
 * when that command runs, so `inject` neither parses nor holds the Kubernetes client, the
 * webhook server and X.509 that `run` and `doctor` need (one bundle of everything cost each
 * command some 35 MiB and its parse). A command's file takes commander and the CLI's error
 * classes from the entry (one Command tree, one CliError); Node's built-ins come from the
 * executable's `require`.
 */
async function bundleExecutable(outdir: string, nodeMajor: number): Promise<void> {
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    target: `node${nodeMajor}`,
    minify: true,
    legalComments: 'none' as const,
    logLevel: 'warning' as const,
  };
  const loader: Plugin = {
    name: 'sidecar-operator-executable-entry',
    setup(b) {
      // program.ts's `import('./commands/<name>.js')`: the command's asset, compiled on first use.
      b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) =>
        args.importer === join(ROOT, 'src', 'cli', 'program.ts')
          ? { path: args.path.slice('./commands/'.length, -'.js'.length), namespace: 'command-asset' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'command-asset' }, (args) => ({
        loader: 'js',
        resolveDir: join(ROOT, 'src', 'cli'),
        contents: `module.exports = require('sidecar-operator:command-loader').load(${JSON.stringify(args.path)});`,
      }));
      b.onResolve({ filter: /^sidecar-operator:command-loader$/ }, () => ({
        path: 'command-loader',
        namespace: 'command-loader',
      }));
      b.onLoad({ filter: /.*/, namespace: 'command-loader' }, () => ({
        loader: 'js',
        resolveDir: join(ROOT, 'src', 'cli'),
        contents: `
const { getAsset } = require('node:sea');
const { compileFunction } = require('node:vm');
const shared = { commander: require('commander'), '#cli-errors': require('./errors.ts') };
const builtin = require;
const cachedData = (name) => {
  try {
    return new Uint8Array(getAsset('commands/' + name + '.cache'));
  } catch {
    return undefined;
  }
};
const load = (name) => {
  const file = 'commands/' + name + '.cjs';
  const fn = compileFunction(getAsset(file, 'utf8'), ${JSON.stringify(COMMAND_PARAMETERS)}, {
    filename: 'sidecar-operator/' + file,
    cachedData: cachedData(name),
  });
  const module = { exports: {} };
  fn.call(module.exports, module.exports, (id) => (id in shared ? shared[id] : builtin(id)), module, file, '.');
  return module.exports;
};
exports.load = load;`,
      }));
    },
  };
  const shared: Plugin = {
    name: 'sidecar-operator-executable-command',
    setup(b) {
      b.onResolve({ filter: /^commander$|errors\.js$/ }, (args) => {
        const path =
          args.path === 'commander' ? 'commander' : join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        return SHARED[path] ? { path: SHARED[path], external: true } : undefined;
      });
    },
  };
  const results = [
    await build({
      ...common,
      entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
      outfile: join(outdir, 'main.cjs'),
      plugins: [bundlePlugin(), loader],
    }),
    await build({
      ...common,
      entryPoints: commandNames().map((name) => ({
        in: join(ROOT, 'src', 'cli', 'commands', `${name}.ts`),
        out: join('commands', name),
      })),
      outdir,
      outExtension: { '.js': '.cjs' },
      plugins: [bundlePlugin(), shared],
    }),
  ];
  const errors = results.reduce((n, r) => n + r.errors.length, 0);
  if (errors > 0) throw new Error(`esbuild: ${errors} errors`);
}

export async function bundle(to: BundleShape, nodeMajor = 24): Promise<void> {
  if (to.shape === 'executable') return bundleExecutable(to.outdir, nodeMajor);
  const result = await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outdir: to.outdir,
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    // Dependencies written as CommonJS call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as __sidecarCreateRequire } from 'node:module'; const require = __sidecarCreateRequire(import.meta.url);",
    },
    bundle: true,
    platform: 'node',
    target: `node${nodeMajor}`,
    // The image's bundle keeps identifiers, so that the stack traces an operator logs stay readable;
    // the executable's is minified whole (smaller, its code cache faster to load).
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [bundlePlugin()],
  });
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.length} errors`);
}

// node hack/bundle.ts <outdir>: the split bundle (the image's).
if (import.meta.main) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node hack/bundle.ts <outdir>');
  await bundle({ shape: 'split', outdir: resolve(out) });
}
