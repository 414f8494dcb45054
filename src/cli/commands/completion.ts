import { type Command, Argument } from 'commander';
import { completionScript, treeOf } from '../completion.js';

const EXAMPLES = `
Examples:
  # bash, this shell; or for good: sidecar-operator completion bash > /etc/bash_completion.d/sidecar-operator
  $ source <(sidecar-operator completion bash)

  # zsh
  $ source <(sidecar-operator completion zsh)

  # fish
  $ sidecar-operator completion fish > ~/.config/fish/completions/sidecar-operator.fish
`;

export function register(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', EXAMPLES)
    .action((shell: 'bash' | 'zsh' | 'fish') => {
      process.stdout.write(completionScript(shell, treeOf(program)));
    });
}
