/**
 * Evidently-compatible per-column drift verdicts and the dataset verdict (evidently `legacy` stattests:
 * `registry.py::_get_default_stattest`, `data_drift.py::get_dataset_drift`). Columns are cleaned first
 * (NaN / ±Infinity / null dropped); the test is chosen from the baseline's size and the number of distinct
 * values of both sides together:
 *   baseline ≤ 1000 rows: numeric → z (≤ 2 values) / chisquare (3–5) / ks; categorical → z (≤ 2) / chisquare
 *   baseline > 1000 rows: numeric → jensenshannon (≤ 5 values) / wasserstein (normed); categorical → jensenshannon
 * p-value tests drift below 0.05 (ks: ≤ 0.05, chisquare and z: < 0.05); distances drift at ≥ 0.1.
 * The dataset drifts when the share of drifted columns is ≥ 0.5.
 */
import type {
  CategoricalColumn,
  ColumnVerdict,
  DatasetVerdict,
  NumericColumn,
  SortedSample,
  StatTestName,
} from './types.js';
import { jensenShannon, numericBins, psi } from './binning.js';
import { countCategories, evidentlyChiSquare } from './categorical.js';
import { ks2sampPValue } from './ks.js';
import { isPrepared, mergeWalk, prepareNumeric } from './numeric.js';
import { ndtr } from './special.js';

export const DEFAULT_DRIFT_SHARE = 0.5;

export const STATTESTS: Record<
  StatTestName,
  { threshold: number; drifted: (score: number, thr: number) => boolean }
> = {
  ks: { threshold: 0.05, drifted: (p, t) => p <= t },
  chisquare: { threshold: 0.05, drifted: (p, t) => p < t },
  z: { threshold: 0.05, drifted: (p, t) => p < t },
  jensenshannon: { threshold: 0.1, drifted: (d, t) => d >= t },
  wasserstein: { threshold: 0.1, drifted: (d, t) => d >= t },
  psi: { threshold: 0.1, drifted: (d, t) => d >= t },
};

export type VerdictColumn =
  | {
      name: string;
      type: 'numeric';
      baseline: SortedSample | NumericColumn;
      target: SortedSample | NumericColumn;
    }
  | { name: string; type: 'categorical'; baseline: CategoricalColumn; target: CategoricalColumn };

export interface VerdictOptions {
  /** Force one test for every column (it must apply to the column type); default: Evidently's selection. */
  stattest?: StatTestName;
  /** Override the test's default threshold. */
  threshold?: number;
  /** Dataset drift when drifted/total ≥ this (default 0.5). */
  driftShare?: number;
}

/** Evidently's default test for a column. */
export function defaultStatTest(
  type: 'numeric' | 'categorical',
  refRows: number,
  nValues: number,
): StatTestName {
  if (refRows <= 1000) {
    if (nValues <= 2) return 'z';
    if (type === 'categorical' || nValues <= 5) return 'chisquare';
    return 'ks';
  }
  if (type === 'categorical' || nValues <= 5) return 'jensenshannon';
  return 'wasserstein';
}

/** Evidently's two-proportion z-test p-value over counts per key (keys in ascending order). */
export function zTestPValue(ref: readonly number[], cur: readonly number[]): number {
  const refKinds = ref.filter((c) => c > 0).length;
  const curKinds = cur.filter((c) => c > 0).length;
  if (refKinds === 1 && curKinds === 1 && ref.findIndex((c) => c > 0) === cur.findIndex((c) => c > 0))
    return 1;
  const n1 = ref.reduce((a, b) => a + b, 0);
  const n2 = cur.reduce((a, b) => a + b, 0);
  // x → 0 for the smallest key, 1 otherwise; p = share of ones.
  const p1 = (n1 - ref[0]!) / n1;
  const p2 = (n2 - cur[0]!) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2));
  return 2 * (1 - ndtr(Math.abs(z)));
}

function numericVerdict(
  name: string,
  baseline: SortedSample | NumericColumn,
  target: SortedSample | NumericColumn,
  opts: VerdictOptions,
): ColumnVerdict {
  const b = isPrepared(baseline) ? baseline : prepareNumeric(baseline);
  const t = isPrepared(target) ? target : prepareNumeric(target);
  if (b.sorted.length === 0 || t.sorted.length === 0)
    throw new RangeError(`column ${name}: no finite values on one side`);
  const test =
    opts.stattest ?? defaultStatTest('numeric', b.sorted.length, unionDistinct(b.sorted, t.sorted));
  let score: number;
  switch (test) {
    case 'ks': {
      const w = mergeWalk(b.sorted, t.sorted);
      score = ks2sampPValue(w.d, b.sorted.length, t.sorted.length).pValue;
      break;
    }
    case 'wasserstein':
      score = mergeWalk(b.sorted, t.sorted).wasserstein / Math.max(b.std, 0.001);
      break;
    case 'z': {
      const values = valueCounts(b.sorted, t.sorted);
      score = zTestPValue(values.ref, values.cur);
      break;
    }
    case 'chisquare': {
      const values = valueCounts(b.sorted, t.sorted);
      score = evidentlyChiSquare(values.ref, values.cur).pValue;
      break;
    }
    case 'jensenshannon': {
      const bins = numericBins(b, t);
      score = jensenShannon(bins.ref, bins.cur);
      break;
    }
    case 'psi': {
      const bins = numericBins(b, t);
      score = psi(bins.ref, bins.cur);
      break;
    }
  }
  return verdict(name, 'numeric', test, score, opts);
}

/** Number of distinct values of the union of two ascending samples. */
function unionDistinct(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    const v = x <= y ? x : y;
    while (i < a.length && a[i]! === v) i++;
    while (j < b.length && b[j]! === v) j++;
    n++;
  }
  return n;
}

/** Counts per distinct value of the union, ascending. */
function valueCounts(a: Float64Array, b: Float64Array): { ref: number[]; cur: number[] } {
  const ref: number[] = [];
  const cur: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    const v = x <= y ? x : y;
    const i0 = i;
    const j0 = j;
    while (i < a.length && a[i]! === v) i++;
    while (j < b.length && b[j]! === v) j++;
    ref.push(i - i0);
    cur.push(j - j0);
  }
  return { ref, cur };
}

function categoricalVerdict(
  name: string,
  baseline: CategoricalColumn,
  target: CategoricalColumn,
  opts: VerdictOptions,
): ColumnVerdict {
  const c = countCategories(baseline, target);
  const nRef = c.refRows - c.refMissing;
  const nCur = c.curRows - c.curMissing;
  if (nRef === 0 || nCur === 0) throw new RangeError(`column ${name}: no non-null values on one side`);
  const test = opts.stattest ?? defaultStatTest('categorical', nRef, c.categories.length);
  let score: number;
  switch (test) {
    case 'z': {
      const order = c.categories.map((_, k) => k).sort((x, y) => cmp(c.categories[x]!, c.categories[y]!));
      score = zTestPValue(
        order.map((k) => c.ref[k]!),
        order.map((k) => c.cur[k]!),
      );
      break;
    }
    case 'chisquare':
      score = evidentlyChiSquare(c.ref, c.cur).pValue;
      break;
    case 'jensenshannon':
    case 'psi': {
      const r = Float64Array.from(c.ref, (v) => v / nRef);
      const q = Float64Array.from(c.cur, (v) => v / nCur);
      score = test === 'psi' ? psi(r, q) : jensenShannon(r, q);
      break;
    }
    default:
      throw new RangeError(`column ${name}: stat test ${test} does not apply to categorical columns`);
  }
  return verdict(name, 'categorical', test, score, opts);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function verdict(
  column: string,
  columnType: 'numeric' | 'categorical',
  stattest: StatTestName,
  score: number,
  opts: VerdictOptions,
): ColumnVerdict {
  const spec = STATTESTS[stattest];
  const threshold = opts.threshold ?? spec.threshold;
  return { column, columnType, stattest, threshold, score, drifted: spec.drifted(score, threshold) };
}

export function columnVerdict(col: VerdictColumn, opts: VerdictOptions = {}): ColumnVerdict {
  return col.type === 'numeric'
    ? numericVerdict(col.name, col.baseline, col.target, opts)
    : categoricalVerdict(col.name, col.baseline, col.target, opts);
}

/** Per-column verdicts and Evidently's dataset verdict (share of drifted columns ≥ driftShare). */
export function datasetVerdict(columns: readonly VerdictColumn[], opts: VerdictOptions = {}): DatasetVerdict {
  const verdicts = columns.map((c) => columnVerdict(c, opts));
  const drifted = verdicts.filter((v) => v.drifted).length;
  const driftShare = opts.driftShare ?? DEFAULT_DRIFT_SHARE;
  const share = verdicts.length ? drifted / verdicts.length : 0;
  return {
    columns: verdicts,
    driftedColumns: drifted,
    share,
    driftShare,
    datasetDrift: verdicts.length > 0 && share >= driftShare,
  };
}
