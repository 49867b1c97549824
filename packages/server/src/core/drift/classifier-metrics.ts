/**
 * Binary classification metrics, operation for operation as scikit-learn 1.2 (so results are bit-identical,
 * checked against fixtures): `matthews_corrcoef` from the confusion matrix and `roc_auc_score` as the
 * trapezoid under the ROC curve with `drop_intermediate`, summed with numpy's pairwise summation.
 */

export interface Confusion {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

/** Labels and predictions are 0/1 (anything non-zero counts as 1). */
export function confusion(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): Confusion {
  if (yTrue.length !== yPred.length) throw new RangeError('yTrue and yPred differ in length');
  const c: Confusion = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i]) {
      if (yPred[i]) c.tp++;
      else c.fn++;
    } else if (yPred[i]) c.fp++;
    else c.tn++;
  }
  return c;
}

/**
 * sklearn's formula: cov(yt,yp) = correct·N − t·p, …; 0 when either variance is 0 (one predicted or one true
 * class), which is where sklearn also returns 0.
 */
export function mccFromConfusion({ tn, fp, fn, tp }: Confusion): number {
  const t0 = tn + fp;
  const t1 = fn + tp;
  const p0 = tn + fn;
  const p1 = fp + tp;
  const n = p0 + p1;
  const covTP = (tn + tp) * n - (t0 * p0 + t1 * p1);
  const covPP = n ** 2 - (p0 * p0 + p1 * p1);
  const covTT = n ** 2 - (t0 * t0 + t1 * t1);
  if (covPP * covTT === 0) return 0;
  return covTP / Math.sqrt(covTT * covPP);
}

export function matthewsCorrcoef(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  return mccFromConfusion(confusion(yTrue, yPred));
}

/** numpy's pairwise summation (`add.reduce` on a contiguous float64 array, identity 0 first). */
export function pairwiseSum(a: Float64Array, start = 0, n = a.length): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[start + i]!;
    return s;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let s = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[start + i]!;
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/**
 * ROC AUC for 0/1 labels and finite scores (higher = class 1). NaN when only one class is present
 * (sklearn raises "Only one class present in y_true" there).
 */
export function rocAucScore(yTrue: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = yTrue.length;
  if (score.length !== n) throw new RangeError('yTrue and score differ in length');
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(score[i]!)) throw new RangeError('scores must be finite');
    order[i] = i;
  }
  // Descending score; ties are collapsed below, so their order does not matter.
  order.sort((a, b) => score[b]! - score[a]!);
  // Cumulative (fps, tps) at the last index of each distinct score.
  const fps: number[] = [];
  const tps: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (yTrue[i]) tp++;
    if (k === n - 1 || score[order[k + 1]!] !== score[i]) {
      tps.push(tp);
      fps.push(k + 1 - tp);
    }
  }
  const P = tps[tps.length - 1] ?? 0;
  const Nn = fps[fps.length - 1] ?? 0;
  if (P === 0 || Nn === 0) return NaN;
  // drop_intermediate: keep the ends and every point where the curve bends.
  const xs = [0];
  const ys = [0];
  const m = fps.length;
  for (let k = 0; k < m; k++) {
    const keep =
      m <= 2 ||
      k === 0 ||
      k === m - 1 ||
      fps[k + 1]! - 2 * fps[k]! + fps[k - 1]! !== 0 ||
      tps[k + 1]! - 2 * tps[k]! + tps[k - 1]! !== 0;
    if (keep) {
      xs.push(fps[k]!);
      ys.push(tps[k]!);
    }
  }
  const terms = new Float64Array(xs.length - 1);
  for (let k = 1; k < xs.length; k++) {
    const dx = xs[k]! / Nn - xs[k - 1]! / Nn;
    terms[k - 1] = (dx * (ys[k]! / P + ys[k - 1]! / P)) / 2;
  }
  return pairwiseSum(terms);
}
