import { spawnSync } from 'node:child_process';
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { completionScript, treeOf } from './completion.js';

const program = new Command('sidecar-operator').option('--debug', 'stack traces');
program
  .command('doctor')
  .option('-n, --namespace <namespace>', 'namespace')
  .addOption(new Option('-o, --output <format>', 'format').choices(['text', 'json', 'yaml']))
  .addOption(new Option('--namespace-old <ns>', 'deprecated: use --namespace').hideHelp());
program.command('proxy-config').command('bootstrap').option('--pod <name>', 'pod');

/** What bash offers after `line` (the last word is the one being completed). */
function complete(line: string): string[] {
  const script = completionScript('bash', treeOf(program));
  const words = line.split(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _sidecar_operator; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('bash completion', () => {
  it('offers the subcommands, then each one’s visible flags and choices', () => {
    expect(complete('sidecar-operator ')).toEqual(['doctor', 'proxy-config']);
    expect(complete('sidecar-operator doctor --n')).toEqual(['--namespace']);
    expect(complete('sidecar-operator --debug doctor -o ')).toEqual(['json', 'text', 'yaml']);
    expect(complete('sidecar-operator proxy-config b')).toEqual(['bootstrap']);
    expect(complete('sidecar-operator proxy-config bootstrap --')).toEqual(['--help', '--pod']);
  });

  it('writes zsh and fish scripts over the same tree', () => {
    expect(completionScript('zsh', treeOf(program))).toContain('bashcompinit');
    const fish = completionScript('fish', treeOf(program));
    expect(fish).toContain(
      `complete -c sidecar-operator -n '__sidecar_operator_at '\\''doctor'\\''' -s o -l output -x -a 'text json yaml' -d 'format'`,
    );
    expect(fish).not.toContain('namespace-old');
  });

  // fish is installed by `make system-deps` (part of `make test`).
  it('completes in fish', () => {
    const r = spawnSync(
      'fish',
      ['-c', `${completionScript('fish', treeOf(program))}\ncomplete -C 'sidecar-operator doctor -o '`],
      { encoding: 'utf8' },
    );
    expect(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual(['json', 'text', 'yaml']);
  });
});
