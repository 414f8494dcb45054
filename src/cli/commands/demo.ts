import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo.js';
import { createStyle, formatMs } from '../../demo/style.js';

const EXAMPLES = `
Needs the control-plane binaries from \`make envtest\`; \`make demo\` builds everything and runs this.

Examples:
  # run it, explore with kubectl, Ctrl-C to stop and clean up
  $ sidecar-operator demo

  # run once and exit (CI)
  $ sidecar-operator demo --exit

  # on a real node (root; kubelet, containerd, kube-proxy): the chart installs the operator from its
  # image, the injected pod runs, and a request crosses both proxies (make demo ARGS=--node)
  $ sidecar-operator demo --node
`;

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'start a local control plane and the operator, apply the bookinfo policy and workload, show the injected pod',
    )
    .option('--exit', 'stop everything and exit once the pod is shown, instead of running until Ctrl-C')
    .option('--node', 'add a real node (needs root and `make images`): pods run, traffic crosses the proxies')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: { exit?: boolean; node?: boolean }) => {
      const started = Date.now();
      const style = createStyle(process.stdout.isTTY === true);
      const write = (t: string): void => void process.stdout.write(t);
      // The node demo lives with the test harness, which a production image does not need to load.
      const session = flags.node
        ? await (await import('../../demo/run-node-demo.js')).runNodeDemo({ style, write })
        : await runDemo({ style, write });
      if (!flags.exit) {
        write(
          `\nThe control plane keeps running. In another terminal:\n` +
            `  export KUBECONFIG=${session.kubeconfigPath}\n` +
            `  kubectl get sp\n  kubectl get ns -L sidecar.dev/policy\n  kubectl -n bookinfo get pods -o yaml\n` +
            `Ctrl-C stops the operator and the control plane and removes their files.\n`,
        );
        const sig = await waitForSignal();
        write(`\n${sig}: stopping …\n`);
      }
      const t0 = Date.now();
      await session.stop();
      write(
        `${style.green('✓')} stopped the operator and the control plane, removed their files ${style.dim(`(${formatMs(Date.now() - t0)})`)}; demo total ${formatMs(Date.now() - started)}\n`,
      );
    });
}
