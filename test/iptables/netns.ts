import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * The TCP peer script, copied where the test UIDs can read it: the checkout itself may sit in a
 * private directory (mode 0700, like a home directory) that uid 1000 and 1337 cannot enter.
 */
export const TCP_PY = readableCopy(join(import.meta.dirname, 'tcp.py'));

function readableCopy(path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-netns-'));
  chmodSync(dir, 0o755);
  const copy = join(dir, basename(path));
  copyFileSync(path, copy);
  chmodSync(copy, 0o644);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return copy;
}
export const APP_UID = 1000;
export const PROXY_UID = 1337;
/** The system interpreter: one under root's home (pyenv) is not readable by the test UIDs. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function sh(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Run {
  const [cmd = '', ...args] = argv;
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  return {
    status: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error?.message ?? ''),
  };
}

export function must(argv: string[], opts: { input?: string } = {}): Run {
  const r = sh(argv, opts);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r;
}

export function asUser(uid: number, argv: string[], caps: string[] = []): string[] {
  const capFlags = caps.length
    ? ['--inh-caps', caps.map((c) => `+${c}`).join(','), '--ambient-caps', caps.map((c) => `+${c}`).join(',')]
    : [];
  return ['setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', ...capFlags, ...argv];
}

/**
 * A pod-like namespace and a peer joined by a veth pair:
 *   pod  198.18.0.2/24  fd00:99::2/64                       (routes 198.18.1.0/24, fd00:99:1::/64 via the peer)
 *   peer 198.18.0.1/24  fd00:99::1/64, 198.18.1.1/24  fd00:99:1::1/64  (the second pair is "excluded")
 * Names are unique per run so concurrent runs never meet.
 */
export class Topology {
  readonly id = `${process.pid % 100_000}${randomBytes(2).toString('hex')}`;
  readonly pod = `sc-pod-${this.id}`;
  readonly peer = `sc-peer-${this.id}`;
  private readonly children: ChildProcess[] = [];

  create(): void {
    const vp = `vp${this.id}`;
    const vq = `vq${this.id}`;
    must(['ip', 'netns', 'add', this.pod]);
    must(['ip', 'netns', 'add', this.peer]);
    must([
      'ip',
      'link',
      'add',
      vp,
      'netns',
      this.pod,
      'type',
      'veth',
      'peer',
      'name',
      vq,
      'netns',
      this.peer,
    ]);
    const inPod = (...a: string[]): Run => must(['ip', '-n', this.pod, ...a]);
    const inPeer = (...a: string[]): Run => must(['ip', '-n', this.peer, ...a]);
    for (const [ns, dev] of [
      [inPod, vp],
      [inPeer, vq],
    ] as const) {
      ns('link', 'set', 'lo', 'up');
      ns('link', 'set', dev, 'up');
    }
    inPod('addr', 'add', '198.18.0.2/24', 'dev', vp);
    inPod('-6', 'addr', 'add', 'fd00:99::2/64', 'dev', vp, 'nodad');
    inPod('route', 'add', '198.18.1.0/24', 'via', '198.18.0.1');
    inPod('-6', 'route', 'add', 'fd00:99:1::/64', 'via', 'fd00:99::1');
    inPeer('addr', 'add', '198.18.0.1/24', 'dev', vq);
    inPeer('addr', 'add', '198.18.1.1/24', 'dev', vq);
    inPeer('-6', 'addr', 'add', 'fd00:99::1/64', 'dev', vq, 'nodad');
    inPeer('-6', 'addr', 'add', 'fd00:99:1::1/64', 'dev', vq, 'nodad');
  }

  exec(ns: string, argv: string[], input?: string): Run {
    return sh(['ip', 'netns', 'exec', ns, ...argv], { input });
  }

  /** Starts a long-running tcp.py endpoint and resolves once it prints "ready". */
  async start(ns: string, argv: string[]): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} not ready: ${err}`)), 10_000);
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
      });
    });
    return child;
  }

  /** Ends only what `start` started, then removes both namespaces (and with them the veth pair). */
  destroy(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    sh(['ip', 'netns', 'del', this.pod]);
    sh(['ip', 'netns', 'del', this.peer]);
  }
}

interface Endpoint {
  ip: string;
  port: number;
}

/** What tcp.py's endpoints answer. */
export interface Answer {
  who?: string;
  uid?: number;
  local?: Endpoint;
  from?: Endpoint;
  original?: Endpoint;
  upstream?: Answer;
  error?: string;
}

/** One JSON answer from tcp.py's `connect`, run in `ns` as `uid`. */
export function connect(t: Topology, ns: string, uid: number, host: string, port: number): Answer {
  return connectFrom(t, ns, uid, { host, port });
}

/** As `connect`, from a chosen source address (the proxy's inbound passthrough binds 127.0.0.6 / ::6). */
export function connectFrom(
  t: Topology,
  ns: string,
  uid: number,
  to: { host: string; port: number },
  from?: string,
): Answer {
  const { host, port } = to;
  const source = from === undefined ? [] : [from];
  const r = t.exec(ns, asUser(uid, [PYTHON, TCP_PY, 'connect', host, String(port), ...source]));
  if (r.status !== 0) throw new Error(`connect ${host}:${port} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer;
}
