/**
 * Categorical per-feature drift statistics. Both sides are counted into one shared category index (strings
 * or dictionary codes), then:
 * - Azure's Euclidean distance between the frequency vectors (share of rows) over the union of categories,
 *   with null its own category ("Null is treated as its own category");
 * - Evidently's PSI (zero-filled), Jensen–Shannon (base 2 and ln) and chisquare p-value
 *   (`chisquare(cur_counts, ref_counts · n_cur/n_ref)`, p = chi2.sf(stat, k − 1)), nulls dropped.
 */
import type { CategoricalColumn, CategoricalDriftMetrics } from './types.js';
import { jensenShannon, psi } from './binning.js';
import { chi2Sf } from './special.js';

/** Counts per category for both sides over one index; index order = first appearance (baseline first). */
export interface CategoryCounts {
  readonly categories: string[];
  readonly ref: number[];
  readonly cur: number[];
  readonly refMissing: number;
  readonly curMissing: number;
  readonly refRows: number;
  readonly curRows: number;
}

function countInto(
  col: CategoricalColumn,
  index: Map<string, number>,
  categories: string[],
  counts: number[][],
  side: 0 | 1,
): number {
  let missing = 0;
  const bump = (key: string): void => {
    let k = index.get(key);
    if (k === undefined) {
      k = categories.length;
      index.set(key, k);
      categories.push(key);
      counts[0]!.push(0);
      counts[1]!.push(0);
    }
    counts[side]![k]!++;
  };
  if (Array.isArray(col)) {
    for (const v of col as readonly (string | null)[]) {
      if (v === null || v === undefined) missing++;
      else bump(v);
    }
    return missing;
  }
  const { codes, dictionary } = col as { codes: Int32Array; dictionary: readonly string[] };
  // Count codes first (typed array, no hashing per row), then map the used codes to the shared index.
  const perCode = new Float64Array(dictionary.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c < 0 || c >= dictionary.length) missing++;
    else perCode[c]!++;
  }
  for (let c = 0; c < dictionary.length; c++) {
    const n = perCode[c]!;
    if (n === 0) continue;
    const key = dictionary[c]!;
    let k = index.get(key);
    if (k === undefined) {
      k = categories.length;
      index.set(key, k);
      categories.push(key);
      counts[0]!.push(0);
      counts[1]!.push(0);
    }
    counts[side]![k]! += n;
  }
  return missing;
}

export function countCategories(baseline: CategoricalColumn, target: CategoricalColumn): CategoryCounts {
  const index = new Map<string, number>();
  const categories: string[] = [];
  const counts: number[][] = [[], []];
  const refMissing = countInto(baseline, index, categories, counts, 0);
  const curMissing = countInto(target, index, categories, counts, 1);
  const rows = (c: CategoricalColumn) =>
    Array.isArray(c) ? c.length : (c as { codes: Int32Array }).codes.length;
  return {
    categories,
    ref: counts[0]!,
    cur: counts[1]!,
    refMissing,
    curMissing,
    refRows: rows(baseline),
    curRows: rows(target),
  };
}

/** scipy.stats.chisquare(f_obs, f_exp) (lambda = 1, ddof = 0): statistic, p-value, degrees of freedom. */
export function chiSquare(
  fObs: ArrayLike<number>,
  fExp: ArrayLike<number>,
): { statistic: number; pValue: number; dof: number } {
  let stat = 0;
  for (let i = 0; i < fObs.length; i++) {
    const d = fObs[i]! - fExp[i]!;
    stat += (d * d) / fExp[i]!;
  }
  const dof = fObs.length - 1;
  return { statistic: stat, pValue: chi2Sf(stat, dof), dof };
}

/** Evidently's chisquare over counts of the union of non-null values. */
export function evidentlyChiSquare(
  ref: readonly number[],
  cur: readonly number[],
): { statistic: number; pValue: number; dof: number } {
  const nRef = ref.reduce((a, b) => a + b, 0);
  const nCur = cur.reduce((a, b) => a + b, 0);
  const kNorm = nCur / nRef;
  return chiSquare(
    cur,
    ref.map((r) => r * kNorm),
  );
}

export function categoricalDrift(
  baseline: CategoricalColumn,
  target: CategoricalColumn,
): CategoricalDriftMetrics {
  const c = countCategories(baseline, target);
  if (c.refRows === 0 || c.curRows === 0)
    throw new RangeError('a categorical drift column needs at least one row on each side');
  // Euclidean over frequencies, null included as a category.
  let sq = 0;
  for (let k = 0; k < c.categories.length; k++) {
    const d = c.ref[k]! / c.refRows - c.cur[k]! / c.curRows;
    sq += d * d;
  }
  const dn = c.refMissing / c.refRows - c.curMissing / c.curRows;
  sq += dn * dn;
  const nRef = c.refRows - c.refMissing;
  const nCur = c.curRows - c.curMissing;
  const unique = (xs: readonly number[]) => xs.reduce((a, v) => a + (v > 0 ? 1 : 0), 0);
  const profile = (rows: number, missing: number, counts: readonly number[]) => ({
    rows,
    missing,
    unique: unique(counts),
  });
  let evid: Pick<CategoricalDriftMetrics, 'psi' | 'jensenShannon' | 'jensenShannonLn' | 'chiSquare'>;
  if (nRef === 0 || nCur === 0) {
    const none = { statistic: NaN, pValue: NaN, dof: 0 };
    evid = { psi: NaN, jensenShannon: NaN, jensenShannonLn: NaN, chiSquare: none };
  } else {
    const r = Float64Array.from(c.ref, (v) => v / nRef);
    const q = Float64Array.from(c.cur, (v) => v / nCur);
    evid = {
      psi: psi(r, q),
      jensenShannon: jensenShannon(r, q, 2),
      jensenShannonLn: jensenShannon(r, q),
      chiSquare: evidentlyChiSquare(c.ref, c.cur),
    };
  }
  return {
    kind: 'categorical',
    baseline: profile(c.refRows, c.refMissing, c.ref),
    target: profile(c.curRows, c.curMissing, c.cur),
    euclidean: Math.sqrt(sq),
    ...evid,
  };
}
