// Reads the runtime stage (the last FROM) of the project's Dockerfile into what a build without
// Docker needs: packages to install, files to copy, and the image configuration. Anything it does
// not understand is an error, never skipped.
import { posix } from 'node:path';

export interface Copy {
  from?: string;
  src: string;
  /** Absolute path in the image of the copied file or directory. */
  dest: string;
}

export interface RuntimeStage {
  base: string;
  packages: string[];
  copies: Copy[];
  env: string[];
  user?: string;
  workdir?: string;
  entrypoint?: string[];
  cmd?: string[];
}

/** Joins continuation lines and drops comments. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (!line && !current)) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim()) out.push(current.trim());
    current = '';
  }
  return out;
}

const jsonArray = (s: string, what: string): string[] => {
  const v = JSON.parse(s) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`Dockerfile: ${what} must be a JSON array`);
  return v;
};

/** `apt-get install` packages of a RUN line; other commands in it must be ones a rootfs build implies. */
function runPackages(cmd: string): string[] {
  const packages: string[] = [];
  for (const part of cmd.split('&&').map((p) => p.trim())) {
    if (/^apt-get update\b/.test(part) || /^rm -rf \/var\/lib\/apt\/lists\/\*$/.test(part)) continue;
    const m = /^apt-get install (.*)$/.exec(part);
    if (!m) throw new Error(`Dockerfile: the local build cannot follow RUN ${part}`);
    packages.push(...m[1]!.split(/\s+/).filter((w) => w && !w.startsWith('-')));
  }
  return packages;
}

export function parseDockerfile(text: string): RuntimeStage {
  const all = instructions(text);
  const lastFrom = all.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  if (lastFrom < 0) throw new Error('Dockerfile: no FROM');
  const base = all[lastFrom]!.split(/\s+/)[1]!;
  const stage: RuntimeStage = { base, packages: [], copies: [], env: [] };
  let workdir = '/';
  for (const line of all.slice(lastFrom + 1)) {
    const [, op = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    switch (op.toUpperCase()) {
      case 'RUN':
        stage.packages.push(...runPackages(rest));
        break;
      case 'WORKDIR':
        workdir = posix.resolve(workdir, rest);
        stage.workdir = workdir;
        break;
      case 'ENV': {
        const m = /^(\w+)[= ](.*)$/.exec(rest);
        if (!m) throw new Error(`Dockerfile: cannot read ENV ${rest}`);
        stage.env.push(`${m[1]}=${m[2]!.replace(/^"(.*)"$/, '$1')}`);
        break;
      }
      case 'USER':
        stage.user = rest;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = jsonArray(rest, 'ENTRYPOINT');
        break;
      case 'CMD':
        stage.cmd = jsonArray(rest, 'CMD');
        break;
      case 'COPY': {
        const words = rest.split(/\s+/);
        let from: string | undefined;
        while (words[0]?.startsWith('--')) {
          const flag = words.shift()!;
          if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
          else throw new Error(`Dockerfile: the local build cannot follow COPY ${flag}`);
        }
        const dest = words.pop()!;
        for (const src of words) {
          const target = posix.resolve(workdir, dest);
          const into = dest.endsWith('/') || words.length > 1;
          stage.copies.push({ from, src, dest: into ? posix.join(target, posix.basename(src)) : target });
        }
        break;
      }
      case 'LABEL':
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile: the local build cannot follow ${line}`);
    }
  }
  return stage;
}
