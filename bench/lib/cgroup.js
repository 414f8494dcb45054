// A cgroup v1 memory cgroup for one benchmarked process: the container limit a replica runs under
// (the chart's 256Mi), with the kernel's own accounting of it (peak usage, reclaim, OOM kills).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const MiB = 1024 * 1024;

export class MemoryCgroup {
  /** Creates /sys/fs/cgroup/memory/`name` limited to `limit` bytes (needs root, cgroup v1). */
  constructor(name, limit) {
    this.path = `/sys/fs/cgroup/memory/${name}`;
    this.limit = limit;
    mkdirSync(this.path);
    writeFileSync(join(this.path, 'memory.limit_in_bytes'), String(limit));
    try {
      writeFileSync(join(this.path, 'memory.swappiness'), '0');
    } catch {
      // Not writable on every kernel: the limit is what matters.
    }
  }

  /** `command` (argv) run inside the cgroup: a shell joins it, then execs (same pid). */
  wrap(command) {
    return ['sh', '-c', `echo $$ > ${this.path}/cgroup.procs && exec "$@"`, 'sh', ...command];
  }

  read(file) {
    return readFileSync(join(this.path, file), 'utf8');
  }

  has(pid) {
    return this.read('cgroup.procs').split('\n').includes(String(pid));
  }

  /** usage and peak (bytes), failcnt (times the limit was hit and the kernel reclaimed), OOM kills. */
  sample() {
    const oom = Object.fromEntries(
      this.read('memory.oom_control')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')),
    );
    return {
      usage: Number(this.read('memory.usage_in_bytes')),
      maxUsage: Number(this.read('memory.max_usage_in_bytes')),
      failcnt: Number(this.read('memory.failcnt')),
      oomKill: Number(oom.oom_kill ?? 0),
      underOom: Number(oom.under_oom ?? 0),
    };
  }

  /** Starts a new peak (memory.max_usage_in_bytes) from the current usage. */
  resetPeak() {
    writeFileSync(join(this.path, 'memory.max_usage_in_bytes'), '0');
  }

  /** Removes the cgroup once its processes are gone; returns whether it did. */
  async remove() {
    for (let i = 0; i < 50 && existsSync(this.path); i++) {
      try {
        rmdirSync(this.path);
      } catch {
        await sleep(200);
      }
    }
    return !existsSync(this.path);
  }
}
