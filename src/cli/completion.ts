import type { Command } from 'commander';

/** A command as completion sees it: its visible flags and subcommands. */
export interface CompletionTree {
  name: string;
  description: string;
  flags: {
    short?: string;
    long?: string;
    takesValue: boolean;
    choices?: readonly string[];
    description: string;
  }[];
  commands: CompletionTree[];
}

/** The visible part of a commander program (hidden flags and commands are not offered). */
export function treeOf(cmd: Command): CompletionTree {
  const flags = cmd.options
    .filter((o) => !o.hidden)
    .map((o) => ({
      ...(o.short ? { short: o.short } : {}),
      ...(o.long ? { long: o.long } : {}),
      takesValue: o.required || o.optional,
      ...(o.argChoices ? { choices: o.argChoices } : {}),
      description: o.description,
    }));
  flags.push({ short: '-h', long: '--help', takesValue: false, description: 'display help' });
  return {
    name: cmd.name(),
    description: cmd.description(),
    flags,
    commands: cmd.commands
      .filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== 'help')
      .map(treeOf),
  };
}

/** Every command with its path of subcommand names (the root's is ''). */
function walk(t: CompletionTree, path = ''): { path: string; node: CompletionTree }[] {
  return [
    { path, node: t },
    ...t.commands.flatMap((c) => walk(c, path === '' ? c.name : `${path} ${c.name}`)),
  ];
}

const words = (f: CompletionTree['flags'][number]): string[] =>
  [f.short, f.long].filter((x) => x !== undefined);
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const firstLine = (s: string): string => s.split('\n')[0]!.slice(0, 80);

function bash(tree: CompletionTree, names: readonly string[]): string {
  const fn = `_${tree.name.replace(/\W/g, '_')}`;
  const nodes = walk(tree);
  const subs = nodes.map(
    ({ path, node }) =>
      `    ${shellQuote(path)}) subs=${shellQuote(node.commands.map((c) => c.name).join(' '))};;`,
  );
  const opts = nodes.map(
    ({ path, node }) => `    ${shellQuote(path)}) opts=${shellQuote(node.flags.flatMap(words).join(' '))};;`,
  );
  const values = nodes.flatMap(({ path, node }) =>
    node.flags
      .filter((f) => f.takesValue)
      .map(
        (f) =>
          `    ${words(f)
            .map((w) => shellQuote(`${path}:${w}`))
            .join('|')}) ${
            f.choices
              ? `COMPREPLY=($(compgen -W ${shellQuote(f.choices.join(' '))} -- "$cur"))`
              : 'COMPREPLY=($(compgen -f -- "$cur"))'
          }; return;;`,
      ),
  );
  return `# ${tree.name} completion for bash: source <(${tree.name} completion bash)
${fn}_subs() {
  local subs=''
  case "$1" in
${subs.join('\n')}
  esac
  echo "$subs"
}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path='' w i opts=''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    case " $(${fn}_subs "$path") " in *" $w "*) path=\${path:+$path }$w;; esac
  done
  case "$path:$prev" in
${values.join('\n')}
  esac
  case "$path" in
${opts.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(${fn}_subs "$path")" -- "$cur"))
  fi
}
complete -F ${fn} ${names.join(' ')}
`;
}

function fish(tree: CompletionTree, names: readonly string[]): string {
  const fn = `__${tree.name.replace(/\W/g, '_')}_at`;
  const nodes = walk(tree);
  const moves = nodes
    .filter(({ node }) => node.commands.length > 0)
    .flatMap(({ path, node }) =>
      node.commands.map(
        (c) =>
          `      case ${shellQuote(`${path}:${c.name}`)}\n        set path ${shellQuote(path === '' ? c.name : `${path} ${c.name}`)}`,
      ),
    );
  const lines: string[] = [];
  for (const name of names) {
    lines.push(`complete -c ${name} -f`);
    for (const { path, node } of nodes) {
      const when = `-n ${shellQuote(`${fn} ${shellQuote(path)}`)}`;
      for (const c of node.commands)
        lines.push(
          `complete -c ${name} ${when} -a ${shellQuote(c.name)} -d ${shellQuote(firstLine(c.description))}`,
        );
      for (const f of node.flags) {
        const spec = [
          f.short ? `-s ${f.short.slice(1)}` : '',
          f.long ? `-l ${f.long.slice(2)}` : '',
          f.choices ? `-x -a ${shellQuote(f.choices.join(' '))}` : f.takesValue ? '-r -F' : '',
        ].filter(Boolean);
        lines.push(
          `complete -c ${name} ${when} ${spec.join(' ')} -d ${shellQuote(firstLine(f.description))}`,
        );
      }
    }
  }
  return `# ${tree.name} completion for fish: ${tree.name} completion fish | source
# Whether the command line names the subcommand path $argv[1] ('' for none).
function ${fn}
  set -l path ''
  for w in (commandline -opc)[2..-1]
    switch "$path:$w"
${moves.join('\n')}
    end
  end
  test "$path" = "$argv[1]"
end
${lines.join('\n')}
`;
}

/** The completion script for `shell`, for the program and its kubectl plugin name. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish', tree: CompletionTree): string {
  const names = [tree.name, 'kubectl-sidecar'];
  if (shell === 'fish') return fish(tree, names);
  if (shell === 'bash') return bash(tree, names);
  // zsh runs the bash function through its bash-completion layer.
  return `#compdef ${names.join(' ')}
# ${tree.name} completion for zsh: source <(${tree.name} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(tree, names)}`;
}
