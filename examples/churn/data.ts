/**
 * The examples' data: a small, made-up customer-churn table, generated deterministically (a seeded PRNG), so
 * every run and every machine sees the same rows.
 *
 * - `baseline.csv`: the training data, 14 days of January 2025 (40 rows a day).
 * - `live.csv`: serving data with labels fed back, two days: 2025-02-01 looks like the baseline; on 2025-02-02 a
 *   price change **shifts** it (monthly charges +30 on average, more support calls, more month-to-month
 *   contracts), which is the drift the monitor detects.
 *
 * Columns: ts, tenure_months, monthly_charges, support_calls, contract, churned (0/1). Churn depends on the
 * features through one fixed formula, so a model trained on either period learns something real.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_DIR = fileURLToPath(new URL('./data/', import.meta.url));
export const FEATURES = ['tenure_months', 'monthly_charges', 'support_calls', 'contract'] as const;
/** The day without drift and the drifted day of live.csv. */
export const NORMAL_DAY = '2025-02-01';
export const DRIFT_DAY = '2025-02-02';

export interface Row {
  ts: string;
  tenure_months: number;
  monthly_charges: number;
  support_calls: number;
  contract: string;
  churned: number;
}

/** mulberry32: small, fast, and the same everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number, mean: number, sd: number): number {
  const u = Math.max(rand(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function poisson(rand: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

function day(rand: () => number, date: string, rows: number, shifted: boolean): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < rows; i++) {
    const minute = Math.floor((i * 24 * 60) / rows);
    const ts = `${date}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00Z`;
    const tenure = 1 + Math.floor(rand() * 72);
    const charges = Math.min(140, Math.max(20, normal(rand, shifted ? 95 : 65, 15)));
    const calls = poisson(rand, shifted ? 2.5 : 1.2);
    const c = rand();
    const contract =
      c < (shifted ? 0.7 : 0.5) ? 'month-to-month' : c < (shifted ? 0.9 : 0.8) ? 'one-year' : 'two-year';
    const z =
      -3 + 0.05 * (charges - 65) + 0.5 * calls - 0.04 * tenure + (contract === 'month-to-month' ? 0.8 : 0);
    const churned = rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    out.push({
      ts,
      tenure_months: tenure,
      monthly_charges: Math.round(charges * 100) / 100,
      support_calls: calls,
      contract,
      churned,
    });
  }
  return out;
}

export function baselineRows(): Row[] {
  const rand = prng(20250101);
  const rows: Row[] = [];
  for (let d = 1; d <= 14; d++) rows.push(...day(rand, `2025-01-${String(d).padStart(2, '0')}`, 40, false));
  return rows;
}

export function liveRows(): Row[] {
  const rand = prng(20250201);
  return [...day(rand, NORMAL_DAY, 150, false), ...day(rand, DRIFT_DAY, 150, true)];
}

export function toCsv(rows: Row[]): string {
  const cols = ['ts', 'tenure_months', 'monthly_charges', 'support_calls', 'contract', 'churned'] as const;
  return [cols.join(','), ...rows.map((r) => cols.map((c) => String(r[c])).join(','))].join('\n') + '\n';
}

/**
 * Writes baseline.csv and live.csv into `dir` (default `examples/churn/data/`). Each file is written to a
 * temporary name and renamed, so runs at the same time (the content is always the same) never see half a file.
 */
export function writeData(dir = DATA_DIR): { baseline: string; live: string } {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    return path;
  };
  return {
    baseline: write('baseline.csv', toCsv(baselineRows())),
    live: write('live.csv', toCsv(liveRows())),
  };
}
