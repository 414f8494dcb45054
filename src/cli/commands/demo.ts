import type { Command } from 'commander';

/**
 * The demo and the harness it starts live in src/dev, which the operator's image leaves out: they
 * are loaded here, when the command runs, and only a checkout has them.
 */
async function loadDemo(node: boolean) {
  try {
    const [style, demo] = await Promise.all([
      import('../../dev/demo/style.js'),
      node ? import('../../dev/demo/run-node-demo.js') : import('../../dev/demo/run-demo.js'),
    ]);
    return { ...style, run: 'runNodeDemo' in demo ? demo.runNodeDemo : demo.runDemo };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND')
      throw new Error(
        'the demo is not part of this build (the image leaves it out): run it from a checkout, `make demo`',
        {
          cause: err,
        },
      );
    throw err;
  }
}

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
      const { createStyle, formatMs, run } = await loadDemo(flags.node === true);
      const style = createStyle(process.stdout.isTTY === true);
      const write = (t: string): void => void process.stdout.write(t);
      const session = await run({ style, write });
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
