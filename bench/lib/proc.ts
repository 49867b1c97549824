/** CPU time from Linux's /proc (10 ms ticks), for benchmarks that account for every process on the host. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms) of one process so far; 0 once it has exited. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU time (ms) of every postgres process on this host so far, WAL writer and autovacuum included. */
export function postgresCpuMs(): number {
  let ms = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${p}/comm`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (comm === 'postgres\n') ms += processCpuMs(Number(p));
  }
  return ms;
}

/**
 * Busy CPU time (ms) of the whole machine so far, all cores: user, nice, system, irq, softirq and steal from
 * /proc/stat, so the kernel's share of loopback TCP counts too.
 */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: all but idle and iowait
  return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (f[i] ?? 0), 0) * 10;
}
