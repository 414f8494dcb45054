import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from './support.js';

const root = join(import.meta.dirname, '..');

// A process that starts a control plane with the compiled harness, prints what it started, and waits.
const script = `
import { ControlPlane } from ${JSON.stringify(join(root, 'dist', 'dev', 'envtest', 'index.js'))};
const cp = new ControlPlane({ controllerManager: true });
const info = await cp.start();
console.log(JSON.stringify({ pids: cp.pids(), dir: info.dir }));
setInterval(() => {}, 1 << 30);
`;

/** Alive and not a zombie (an orphan reparented to a PID 1 that does not reap stays a zombie). */
function alive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

async function startInChild(): Promise<{ child: ReturnType<typeof spawn>; pids: number[]; dir: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`control-plane process exited with ${code}`)));
  });
  return { child, ...(JSON.parse(first) as { pids: number[]; dir: string }) };
}

describe('the harness leaves nothing behind when the test process is killed', () => {
  it('SIGKILL of the process that started the control plane ends etcd, kube-apiserver and the controller manager', async () => {
    const { child, pids, dir } = await startInChild();
    expect(pids).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);
    expect(existsSync(dir)).toBe(true);

    child.kill('SIGKILL');
    await eventually(() => (pids.some(alive) ? undefined : true), {
      what: 'every control-plane process to end',
      timeoutMs: 5_000,
      intervalMs: 50,
    });

    // The killed run could not remove its data directory; the next run does.
    expect(existsSync(dir)).toBe(true);
    const next = await startInChild();
    try {
      expect(existsSync(dir)).toBe(false);
    } finally {
      next.child.kill('SIGKILL');
      await eventually(() => (next.pids.some(alive) ? undefined : true), { what: 'second run to end' });
    }
  });
});
