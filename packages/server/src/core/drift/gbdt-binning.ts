/**
 * Feature binning for the histogram GBDT (the role of scikit-learn's `_BinMapper`): every feature becomes
 * at most 255 bins (0…254) plus bin 255 for missing values, stored row-major in one Uint8Array so that a
 * histogram pass reads each row's F bytes contiguously.
 *
 * Numeric: thresholds from the finite values — midpoints between consecutive distinct values when there are
 * ≤ 255 of them, else the 254 inner percentiles of linspace(0, 100, 256) with numpy's 'midpoint' method
 * (as sklearn 1.2), duplicates removed. A value goes to the number of thresholds strictly below it, so
 * `x <= threshold` is "left". NaN is missing; ±Infinity fall in the outer bins.
 * Categorical: integer codes; the 254 most frequent codes get their own bin (ascending code order), any
 * further codes share bin 254 ("other"); a negative or non-integer code is missing.
 */

export const MAX_BINS = 255;
export const MISSING_BIN = 255;

export type GbdtFeature =
  { kind: 'numeric'; values: ArrayLike<number> } | { kind: 'categorical'; codes: ArrayLike<number> };

export interface BinnedData {
  rows: number;
  features: number;
  /** Row-major: bins[row * features + feature]. */
  bins: Uint8Array;
  /** Non-missing bins used by each feature (1…255). */
  nBins: Uint16Array;
  categorical: Uint8Array;
  /** Numeric thresholds per feature (empty for categorical); reported, not needed for prediction. */
  thresholds: Float64Array[];
}

/** Bins the given rows (`rowIndex[k]` is the source row of binned row k) of every feature. */
export function binFeatures(features: readonly GbdtFeature[], rowIndex: Uint32Array): BinnedData {
  const n = rowIndex.length;
  const F = features.length;
  const bins = new Uint8Array(n * F);
  const nBins = new Uint16Array(F);
  const categorical = new Uint8Array(F);
  const thresholds: Float64Array[] = [];
  for (let f = 0; f < F; f++) {
    const feat = features[f]!;
    if (feat.kind === 'numeric') {
      const th = numericThresholds(feat.values, rowIndex);
      thresholds.push(th);
      nBins[f] = th.length + 1;
      mapNumeric(feat.values, rowIndex, th, bins, f, F);
    } else {
      thresholds.push(new Float64Array(0));
      categorical[f] = 1;
      nBins[f] = mapCategorical(feat.codes, rowIndex, bins, f, F);
    }
  }
  return { rows: n, features: F, bins, nBins, categorical, thresholds };
}

/** numpy.percentile(sorted, q, method='midpoint'). */
function percentileMidpoint(sorted: Float64Array, q: number): number {
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo]! + sorted[hi]!) / 2;
}

export function numericThresholds(values: ArrayLike<number>, rowIndex: Uint32Array): Float64Array {
  const finite = new Float64Array(rowIndex.length);
  let m = 0;
  for (let k = 0; k < rowIndex.length; k++) {
    const v = values[rowIndex[k]!]!;
    if (Number.isFinite(v)) finite[m++] = v;
  }
  if (m === 0) return new Float64Array(0);
  const s = finite.subarray(0, m).sort();
  let distinct = 1;
  for (let i = 1; i < m && distinct <= MAX_BINS; i++) if (s[i] !== s[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= MAX_BINS) {
    for (let i = 1; i < m; i++) if (s[i] !== s[i - 1]) out.push((s[i - 1]! + s[i]!) / 2);
  } else {
    for (let j = 1; j < MAX_BINS; j++) {
      const t = percentileMidpoint(s, (j * 100) / MAX_BINS);
      if (out.length === 0 || t !== out[out.length - 1]) out.push(t);
    }
  }
  return Float64Array.from(out);
}

function mapNumeric(
  values: ArrayLike<number>,
  rowIndex: Uint32Array,
  th: Float64Array,
  bins: Uint8Array,
  f: number,
  F: number,
): void {
  // A binary search without branches (the comparisons are unpredictable): thresholds padded to 256 with
  // +Infinity, eight fixed steps, each adding its width when the probed threshold is below the value.
  // The bin is the number of thresholds strictly below the value, as `x <= threshold` goes left.
  const pad = new Float64Array(256).fill(Infinity);
  pad.set(th);
  for (let k = 0; k < rowIndex.length; k++) {
    const v = values[rowIndex[k]!]!;
    let b = 0;
    b += 128 * +(pad[127]! < v);
    b += 64 * +(pad[b + 63]! < v);
    b += 32 * +(pad[b + 31]! < v);
    b += 16 * +(pad[b + 15]! < v);
    b += 8 * +(pad[b + 7]! < v);
    b += 4 * +(pad[b + 3]! < v);
    b += 2 * +(pad[b + 1]! < v);
    b += +(pad[b]! < v);
    bins[k * F + f] = v === v ? b : MISSING_BIN;
  }
}

function mapCategorical(
  codes: ArrayLike<number>,
  rowIndex: Uint32Array,
  bins: Uint8Array,
  f: number,
  F: number,
): number {
  const isCode = (c: number) => Number.isInteger(c) && c >= 0;
  const counts = new Map<number, number>();
  for (let k = 0; k < rowIndex.length; k++) {
    const c = codes[rowIndex[k]!]!;
    if (isCode(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let kept = [...counts.keys()];
  if (kept.length > MAX_BINS) {
    kept = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, MAX_BINS - 1)
      .map((e) => e[0]);
  }
  kept.sort((a, b) => a - b);
  const binOf = new Map<number, number>(kept.map((c, i) => [c, i]));
  const other = kept.length; // only reached when codes were folded (kept.length === 254)
  for (let k = 0; k < rowIndex.length; k++) {
    const c = codes[rowIndex[k]!]!;
    bins[k * F + f] = isCode(c) ? (binOf.get(c) ?? other) : MISSING_BIN;
  }
  return Math.max(1, kept.length < counts.size ? kept.length + 1 : kept.length);
}
