/**
 * Evidently's binning for PSI / KL / Jensen–Shannon (`legacy/calculations/stattests/utils.py::get_binned_data`)
 * and the two distances on the binned shares.
 * - Numeric, baseline with > 20 distinct values: numpy 'sturges' edges over the union (width = ptp/(log2 N + 1),
 *   bins = ceil(ptp/width), edges = linspace(min, max)), counts by half-open bins with the last one closed
 *   (np.histogram with explicit edges), divided by each side's length.
 * - Otherwise one bin per value of the union.
 * - PSI zero-fills each side separately: a 0 share becomes min_nonzero/1e6 when min_nonzero ≤ 1e-4, else 1e-4.
 */
import type { SortedSample } from './types.js';

export interface Bins {
  readonly ref: Float64Array;
  readonly cur: Float64Array;
}

/** First index with a[i] ≥ v (side 'left'). */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy histogram_bin_edges(x, 'sturges') for finite x of size `size`, min `lo`, max `hi`. */
export function sturgesEdges(lo: number, hi: number, size: number): Float64Array {
  if (lo === hi) return Float64Array.of(lo - 0.5, hi + 0.5);
  const width = (hi - lo) / (Math.log2(size) + 1);
  const nb = width ? Math.ceil((hi - lo) / width) : 1;
  const edges = new Float64Array(nb + 1);
  const step = (hi - lo) / nb;
  for (let i = 0; i <= nb; i++) edges[i] = i * step + lo;
  edges[nb] = hi;
  return edges;
}

/** np.histogram(sorted, edges)[0] / len. */
function histogramShares(sorted: Float64Array, edges: Float64Array): Float64Array {
  const nb = edges.length - 1;
  const out = new Float64Array(nb);
  let prev = lowerBound(sorted, edges[0]!);
  for (let i = 0; i < nb; i++) {
    // Last bin closed: count up to the first value > last edge.
    const next = i === nb - 1 ? upperBound(sorted, edges[nb]!) : lowerBound(sorted, edges[i + 1]!);
    out[i] = (next - prev) / sorted.length;
    prev = next;
  }
  return out;
}

function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Shares per distinct value of the union (value order: ascending). */
function valueShares(a: Float64Array, b: Float64Array): Bins {
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
    ref.push((i - i0) / a.length);
    cur.push((j - j0) / b.length);
  }
  return { ref: Float64Array.from(ref), cur: Float64Array.from(cur) };
}

/** Evidently's numeric binning of two prepared (finite, sorted) samples. */
export function numericBins(ref: SortedSample, cur: SortedSample): Bins {
  const a = ref.sorted;
  const b = cur.sorted;
  if (ref.distinct > 20) {
    const lo = Math.min(a[0]!, b[0]!);
    const hi = Math.max(a[a.length - 1]!, b[b.length - 1]!);
    const edges = sturgesEdges(lo, hi, a.length + b.length);
    return { ref: histogramShares(a, edges), cur: histogramShares(b, edges) };
  }
  return valueShares(a, b);
}

/** Evidently's zero fill (a copy). */
export function fillZeroes(p: Float64Array): Float64Array {
  let min = Infinity;
  for (const v of p) if (v !== 0 && v < min) min = v;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return p.map((v) => (v === 0 ? fill : v));
}

/** Evidently `psi`: Σ (r − c)·ln(r/c) over zero-filled shares. */
export function psi(ref: Float64Array, cur: Float64Array): number {
  const r = fillZeroes(ref);
  const c = fillZeroes(cur);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += (r[i]! - c[i]!) * Math.log(r[i]! / c[i]!);
  return s;
}

/** x·ln(x/y) with scipy `rel_entr`'s conventions. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/** scipy.spatial.distance.jensenshannon(p, q, base): natural log when base is omitted. */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i]!;
    sq += q[i]!;
  }
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(js / 2);
}
