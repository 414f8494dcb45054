// Bundles the CLI (src/cli/main.ts and everything it imports, dependencies included) into one
// CommonJS file with esbuild. One bundle serves two products: the operator's image runs it (a
// replica then loads one file instead of some 1,500 modules: about 60 MiB less memory at start,
// bench/replica), and the single-file executables of `make dist` wrap it.
//
//   node hack/bundle.ts <outfile>
//
// What the bundle changes: the version is a constant (package.json is not beside it; the CRD's
// schema is already a generated module), and src/dev (the demo and the test control plane, which
// need a checkout) is left out: importing it throws ERR_MODULE_NOT_FOUND, which `demo` explains.
import { readFileSync } from 'node:fs';
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
 * `single`: one CommonJS file (what a single-file executable embeds). `split`: an ES module entry,
 * `<outdir>/main.mjs`, with a chunk per lazily loaded command, as the compiled tree loads them: a
 * command loads only its own code (the init container's `iptables` does not load the Kubernetes
 * client).
 */
export type BundleShape = { shape: 'single'; outfile: string } | { shape: 'split'; outdir: string };

export async function bundle(to: BundleShape, nodeMajor = 24): Promise<void> {
  const where =
    to.shape === 'single'
      ? { outfile: to.outfile, format: 'cjs' as const }
      : {
          outdir: to.outdir,
          format: 'esm' as const,
          splitting: true,
          outExtension: { '.js': '.mjs' },
          entryNames: '[name]',
          chunkNames: 'chunks/[name]-[hash]',
          // Dependencies written as CommonJS call require(); an ES module has none of its own.
          banner: {
            js: "import { createRequire as __sidecarCreateRequire } from 'node:module'; const require = __sidecarCreateRequire(import.meta.url);",
          },
        };
  const result = await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    ...where,
    bundle: true,
    platform: 'node',
    target: `node${nodeMajor}`,
    // The executable's bundle is minified whole (smaller, its code cache faster to load); the image's
    // keeps identifiers, so that the stack traces an operator logs stay readable.
    ...(to.shape === 'single' ? { minify: true } : { minifyWhitespace: true, minifySyntax: true }),
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
