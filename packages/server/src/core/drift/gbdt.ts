/**
 * Binary histogram gradient boosting (log-loss), modelled on scikit-learn 1.2's
 * HistGradientBoostingClassifier: the same defaults (100 iterations, learning rate 0.1, 31 leaves,
 * 20 rows per leaf, no L2), the same early stopping ('auto' = on above 10,000 training rows: a stratified
 * 10 % validation split, stop when none of the last 10 validation losses beat the one 11 back by 1e-7) and
 * optional per-row weights. Works on binned rows (gbdt-binning.ts) addressed by row index, so the
 * cross-validation folds share one binned matrix. Deterministic: the only randomness is the validation
 * split, drawn from the caller's seeded PRNG.
 */
import type { BinnedData } from './gbdt-binning.js';
import { predictTreeRow, TreeGrower, type Tree, type TreeParams } from './gbdt-tree.js';
import { shuffle, type Prng } from './prng.js';

export interface GbdtOptions {
  maxIter: number;
  learningRate: number;
  maxLeafNodes: number;
  minSamplesLeaf: number;
  l2Regularization: number;
  /** 'auto' (sklearn's default): on when there are more than 10,000 training rows. */
  earlyStopping: 'auto' | boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
}

export const GBDT_DEFAULTS: GbdtOptions = {
  maxIter: 100,
  learningRate: 0.1,
  maxLeafNodes: 31,
  minSamplesLeaf: 20,
  l2Regularization: 0,
  earlyStopping: 'auto',
  validationFraction: 0.1,
  nIterNoChange: 10,
  tol: 1e-7,
};

export interface GbdtModel {
  /** Raw score before any tree: log-odds of the (weighted) share of class 1. */
  baseline: number;
  trees: Tree[];
}

/** Log-loss of raw score r for label y: log(1 + e^r) − y·r, computed without overflow. */
function logLoss(r: number, y: number): number {
  return (r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r))) - y * r;
}

/** Stratified split of `rows` into (train, validation), validation ≈ fraction of each class. */
function validationSplit(
  rows: Uint32Array,
  y: Uint8Array,
  fraction: number,
  rng: Prng,
): [Uint32Array, Uint32Array] {
  const isVal = new Uint8Array(y.length);
  let nVal = 0;
  for (const c of [0, 1]) {
    const cls = Uint32Array.from(rows.filter((i) => y[i] === c));
    shuffle(cls, rng);
    const m = Math.round(cls.length * fraction);
    for (let k = 0; k < m; k++) isVal[cls[k]!] = 1;
    nVal += m;
  }
  // Both keep the order of `rows` (ascending), so histogram passes walk memory forwards.
  const train = new Uint32Array(rows.length - nVal);
  const val = new Uint32Array(nVal);
  let t = 0;
  let v = 0;
  for (const i of rows) {
    if (isVal[i] === 1) val[v++] = i;
    else train[t++] = i;
  }
  return [train, val];
}

/**
 * Fits on `rows` of `data` with labels `y` (0/1, indexed by row) and optional weights `w` (by row);
 * adds each feature's total split gain to `gainOut`.
 */
export function fitGbdt(
  data: BinnedData,
  rows: Uint32Array,
  y: Uint8Array,
  w: Float64Array | undefined,
  opts: GbdtOptions,
  rng: Prng,
  gainOut: Float64Array,
): GbdtModel {
  const early = opts.earlyStopping === 'auto' ? rows.length > 10_000 : opts.earlyStopping;
  const [train, val] = early
    ? validationSplit(rows, y, opts.validationFraction, rng)
    : [rows, new Uint32Array(0)];
  let sw = 0;
  let sy = 0;
  for (const i of train) {
    const wi = w ? w[i]! : 1;
    sw += wi;
    sy += wi * y[i]!;
  }
  const share = Math.min(Math.max(sy / sw, 1e-15), 1 - 1e-15);
  const baseline = Math.log(share / (1 - share));
  const model: GbdtModel = { baseline, trees: [] };
  const n = data.rows;
  const raw = new Float64Array(n);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  for (const i of train) raw[i] = baseline;
  const valRaw = new Float64Array(val.length).fill(baseline);
  const scores: number[] = [];
  const valScore = (): number => {
    let s = 0;
    let ws = 0;
    for (let k = 0; k < val.length; k++) {
      const i = val[k]!;
      const wi = w ? w[i]! : 1;
      s += wi * logLoss(valRaw[k]!, y[i]!);
      ws += wi;
    }
    return -s / ws;
  };
  if (early) scores.push(valScore());
  const grower = new TreeGrower(data, {
    maxLeafNodes: opts.maxLeafNodes,
    minSamplesLeaf: opts.minSamplesLeaf,
    l2Regularization: opts.l2Regularization,
    learningRate: opts.learningRate,
    minHessian: 1e-3,
    maxCatThreshold: 32,
    minCatSupport: 10,
    catSmooth: 10,
  } satisfies TreeParams);
  const F = data.features;
  for (let it = 0; it < opts.maxIter; it++) {
    for (let k = 0; k < train.length; k++) {
      const i = train[k]!;
      const pr = 1 / (1 + Math.exp(-raw[i]!));
      const wi = w ? w[i]! : 1;
      g[i] = wi * (pr - y[i]!);
      h[i] = wi * pr * (1 - pr);
    }
    const tree = grower.grow(train, g, h, raw, gainOut);
    model.trees.push(tree);
    if (!early) continue;
    for (let k = 0; k < val.length; k++) valRaw[k]! += predictTreeRow(tree, data.bins, val[k]! * F);
    scores.push(valScore());
    if (shouldStop(scores, opts.nIterNoChange, opts.tol)) break;
  }
  return model;
}

/** sklearn's `_should_stop`: no score among the last k beats the one k + 1 back by more than tol. */
function shouldStop(scores: readonly number[], k: number, tol: number): boolean {
  if (scores.length < k + 1) return false;
  const reference = scores[scores.length - k - 1]! + tol;
  for (let j = scores.length - k; j < scores.length; j++) if (scores[j]! > reference) return false;
  return true;
}

/** Raw scores (log-odds of class 1) for `rows` of `data`. */
export function predictRaw(model: GbdtModel, data: BinnedData, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length).fill(model.baseline);
  const F = data.features;
  for (const t of model.trees)
    for (let k = 0; k < rows.length; k++) out[k]! += predictTreeRow(t, data.bins, rows[k]! * F);
  return out;
}
