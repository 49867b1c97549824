/** Small helpers shared by the benchmark scripts (argument parsing, statistics, formatting, JSON output). */
import { writeFileSync } from 'node:fs';

/** `--name value` or `--name=value`; `true` for a bare flag. */
export function arg(name: string): string | true | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) {
      const next = argv[i + 1];
      return next !== undefined && !next.startsWith('--') ? next : true;
    }
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** 1234567 → "1,234,567" (no decimals). */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmt2 = (n: number): string => n.toFixed(2);

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** With `--json <file>` the script writes its figures there (bench/run.ts collects them). */
export function writeJsonIfAsked(result: unknown): void {
  const out = arg('json');
  if (typeof out === 'string') writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
}

/** BENCH_QUICK=1 shortens every phase (smoke test of the scripts, figures not meaningful). */
export const QUICK = process.env.BENCH_QUICK === '1';
