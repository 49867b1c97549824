/**
 * The drift coefficient (Azure ML v1 "datadrift_coefficient", reference drift.md §1.2, §3.3, §8.3): a domain
 * classifier tells baseline rows (label 0) from target rows (label 1); the Matthews correlation of its
 * 5-fold stratified out-of-fold predictions at probability 0.5, clipped to [0, 1], is the coefficient.
 * Histogram gradient-boosted trees (gbdt.ts) see mean, variance and correlation shifts, which a linear model
 * cannot. Also reported: ROC AUC of the out-of-fold probabilities and each feature's share of the total
 * split gain ("contribution").
 *
 * Choices where the spec is silent:
 * - Each side is sub-sampled to ≤ `maxRowsPerSide` (50,000) rows, seeded; sorted indices, so row order
 *   does not matter beyond the seed.
 * - Classes are weighted n/(2·n_class) (sklearn's class_weight='balanced') so that 0.5 is a fair threshold
 *   when the sides differ in size; with equal sides every weight is 1.
 * - Features are binned once on all sampled rows (labels unused, so no label leakage across folds).
 * - Too few rows (a side with fewer rows than folds, or fewer than folds × minSamplesLeaf in all) is an
 *   error naming the side, not a silent 0.
 * Same inputs + seed → bit-identical result (no threads, no unseeded randomness).
 */
import { invalid } from '../errors.js';
import { confusion, mccFromConfusion, rocAucScore, type Confusion } from './classifier-metrics.js';
import { binFeatures, type BinnedData, type GbdtFeature } from './gbdt-binning.js';
import { fitGbdt, GBDT_DEFAULTS, predictRaw, type GbdtOptions } from './gbdt.js';
import { mulberry32, shuffle, type Prng } from './prng.js';

/** One column of a side. Numeric: NaN is missing. Categorical: integer codes shared by both sides, < 0 missing. */
export type ClassifierColumn =
  | { name: string; kind: 'numeric'; values: ArrayLike<number> }
  | { name: string; kind: 'categorical'; codes: ArrayLike<number> };

export interface ClassifierTable {
  rows: number;
  columns: readonly ClassifierColumn[];
}

export interface DriftClassifierOptions extends Partial<GbdtOptions> {
  seed?: number;
  folds?: number;
  maxRowsPerSide?: number;
  /** Probability above which a row is predicted "target". */
  threshold?: number;
}

export interface DriftClassifierResult {
  /** clip(mcc, 0, 1). */
  driftCoefficient: number;
  mcc: number;
  /** ROC AUC of the out-of-fold probabilities (NaN cannot occur: both classes are always present). */
  auc: number;
  confusion: Confusion;
  /** Per column, in input order: share of the total split gain over all folds (sums to 1, or all 0). */
  contributions: { name: string; contribution: number }[];
  rows: { baseline: number; target: number; baselineUsed: number; targetUsed: number };
  folds: number;
  /** Trees grown in each fold (fewer than maxIter when early stopping ends a fold). */
  iterations: number[];
  seed: number;
  threshold: number;
}

export const DRIFT_CLASSIFIER_DEFAULTS = { seed: 42, folds: 5, maxRowsPerSide: 50_000, threshold: 0.5 };

/** `cap` sorted row indices out of `n` (all of them when n ≤ cap), by a partial Fisher–Yates shuffle. */
export function sampleRows(n: number, cap: number, rng: Prng): Uint32Array {
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  if (n <= cap) return all;
  for (let i = 0; i < cap; i++) {
    const j = i + rng.int(n - i);
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.slice(0, cap).sort();
}

/** Fold (0…k−1) of each row: each class shuffled, then dealt round-robin, so folds are stratified. */
export function stratifiedFolds(y: Uint8Array, k: number, rng: Prng): Uint8Array {
  const fold = new Uint8Array(y.length);
  for (const c of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === c) rows.push(i);
    shuffle(rows, rng);
    rows.forEach((i, pos) => (fold[i] = pos % k));
  }
  return fold;
}

function checkTables(baseline: ClassifierTable, target: ClassifierTable): void {
  const a = baseline.columns;
  const b = target.columns;
  if (a.length === 0) throw invalid('features', 'at least one feature is required', 'InvalidArgument');
  if (a.length !== b.length)
    throw invalid('target', `has ${b.length} columns, baseline has ${a.length}`, 'InvalidArgument');
  for (const [side, t] of [
    ['baseline', baseline],
    ['target', target],
  ] as const) {
    t.columns.forEach((c, j) => {
      const len = c.kind === 'numeric' ? c.values.length : c.codes.length;
      if (len !== t.rows)
        throw invalid(`${side}.${c.name}`, `has ${len} values, expected ${t.rows}`, 'InvalidArgument');
      if (c.name !== a[j]!.name || c.kind !== a[j]!.kind)
        throw invalid(
          `${side}.${c.name}`,
          `column ${j} must be ${a[j]!.kind} '${a[j]!.name}'`,
          'InvalidArgument',
        );
    });
  }
}

/** Concatenates the sampled baseline rows and sampled target rows of each column into one feature. */
function stack(
  baseline: ClassifierTable,
  target: ClassifierTable,
  rb: Uint32Array,
  rt: Uint32Array,
): GbdtFeature[] {
  return baseline.columns.map((cb, j) => {
    const ct = target.columns[j]!;
    const a = cb.kind === 'numeric' ? cb.values : cb.codes;
    const b = ct.kind === 'numeric' ? ct.values : ct.codes;
    const out = new Float64Array(rb.length + rt.length);
    for (let k = 0; k < rb.length; k++) out[k] = a[rb[k]!]!;
    for (let k = 0; k < rt.length; k++) out[rb.length + k] = b[rt[k]!]!;
    return cb.kind === 'numeric' ? { kind: 'numeric', values: out } : { kind: 'categorical', codes: out };
  });
}

/** Everything the folds need: typed arrays only, so it can be posted to worker threads as is. */
export interface DriftPlan {
  data: BinnedData;
  /** 0 = baseline row, 1 = target row (baseline rows first). */
  y: Uint8Array;
  w: Float64Array;
  fold: Uint8Array;
  folds: number;
  seed: number;
  threshold: number;
  gbdt: GbdtOptions;
  names: string[];
  rows: DriftClassifierResult['rows'];
}

export interface FoldResult {
  fold: number;
  testRows: Uint32Array;
  raw: Float64Array;
  gain: Float64Array;
  iterations: number;
}

/** Validates, sub-samples, bins and assigns folds. */
export function planDriftClassifier(
  baseline: ClassifierTable,
  target: ClassifierTable,
  options: DriftClassifierOptions = {},
): DriftPlan {
  const { seed, folds, maxRowsPerSide, threshold } = { ...DRIFT_CLASSIFIER_DEFAULTS, ...options };
  const gbdt: GbdtOptions = { ...GBDT_DEFAULTS };
  for (const key of Object.keys(GBDT_DEFAULTS) as (keyof GbdtOptions)[])
    if (options[key] !== undefined) (gbdt as unknown as Record<string, unknown>)[key] = options[key];
  checkTables(baseline, target);
  if (!Number.isInteger(folds) || folds < 2 || folds > 255)
    throw invalid('folds', 'must be an integer from 2 to 255', 'InvalidArgument');
  if (!(threshold > 0 && threshold < 1)) throw invalid('threshold', 'must be in (0, 1)', 'InvalidArgument');
  if (!Number.isInteger(maxRowsPerSide) || maxRowsPerSide < 1)
    throw invalid('maxRowsPerSide', 'must be a positive integer', 'InvalidArgument');
  const rng = mulberry32(seed);
  const rb = sampleRows(baseline.rows, maxRowsPerSide, rng);
  const rt = sampleRows(target.rows, maxRowsPerSide, rng);
  const nb = rb.length;
  const nt = rt.length;
  const n = nb + nt;
  for (const [side, m] of [
    ['baseline', nb],
    ['target', nt],
  ] as const)
    if (m < folds)
      throw invalid(side, `needs at least ${folds} rows (one per fold), has ${m}`, 'InvalidArgument');
  if (n < folds * gbdt.minSamplesLeaf)
    throw invalid(
      'baseline',
      `baseline and target need at least ${folds * gbdt.minSamplesLeaf} rows together (folds × minSamplesLeaf), have ${n}`,
      'InvalidArgument',
    );
  const data = binFeatures(
    stack(baseline, target, rb, rt),
    Uint32Array.from({ length: n }, (_, i) => i),
  );
  const y = new Uint8Array(n).fill(1, nb);
  return {
    data,
    y,
    w: new Float64Array(n).fill(n / (2 * nb), 0, nb).fill(n / (2 * nt), nb),
    fold: stratifiedFolds(y, folds, rng),
    folds,
    seed,
    threshold,
    gbdt,
    names: baseline.columns.map((c) => c.name),
    rows: { baseline: baseline.rows, target: target.rows, baselineUsed: nb, targetUsed: nt },
  };
}

/** Trains on every fold but `k`, predicts fold `k`. Its own PRNG, so folds may run in any order or in parallel. */
export function runFold(plan: DriftPlan, k: number): FoldResult {
  let nTest = 0;
  for (let i = 0; i < plan.fold.length; i++) if (plan.fold[i] === k) nTest++;
  const testRows = new Uint32Array(nTest);
  const train = new Uint32Array(plan.fold.length - nTest);
  for (let i = 0, a = 0, b = 0; i < plan.fold.length; i++) {
    if (plan.fold[i] === k) testRows[a++] = i;
    else train[b++] = i;
  }
  const gain = new Float64Array(plan.data.features);
  const rng = mulberry32((plan.seed ^ Math.imul(k + 1, 0x9e3779b9)) | 0);
  const model = fitGbdt(plan.data, train, plan.y, plan.w, plan.gbdt, rng, gain);
  return {
    fold: k,
    testRows,
    raw: predictRaw(model, plan.data, testRows),
    gain,
    iterations: model.trees.length,
  };
}

/** Out-of-fold probabilities → confusion matrix at the threshold → MCC, AUC; gains → contributions. */
export function finishDriftClassifier(
  plan: DriftPlan,
  results: readonly FoldResult[],
): DriftClassifierResult {
  const n = plan.y.length;
  const raw = new Float64Array(n);
  const gain = new Float64Array(plan.data.features);
  const sorted = [...results].sort((a, b) => a.fold - b.fold);
  for (const r of sorted) {
    for (let j = 0; j < r.testRows.length; j++) raw[r.testRows[j]!] = r.raw[j]!;
    for (let f = 0; f < gain.length; f++) gain[f]! += r.gain[f]!;
  }
  const prob = raw.map((r) => 1 / (1 + Math.exp(-r)));
  const c = confusion(
    plan.y,
    prob.map((p) => (p > plan.threshold ? 1 : 0)),
  );
  const mcc = mccFromConfusion(c);
  let total = 0;
  for (const x of gain) total += x;
  return {
    driftCoefficient: Math.min(1, Math.max(0, mcc)),
    mcc,
    auc: rocAucScore(plan.y, prob),
    confusion: c,
    contributions: plan.names.map((name, j) => ({ name, contribution: total > 0 ? gain[j]! / total : 0 })),
    rows: plan.rows,
    folds: plan.folds,
    iterations: sorted.map((r) => r.iterations),
    seed: plan.seed,
    threshold: plan.threshold,
  };
}

/** The drift coefficient, folds run one after the other (see classifier-parallel.ts for two threads). */
export function driftClassifier(
  baseline: ClassifierTable,
  target: ClassifierTable,
  options: DriftClassifierOptions = {},
): DriftClassifierResult {
  const plan = planDriftClassifier(baseline, target, options);
  const results: FoldResult[] = [];
  for (let k = 0; k < plan.folds; k++) results.push(runFold(plan, k));
  return finishDriftClassifier(plan, results);
}
