/**
 * One regression tree of the histogram GBDT, grown leaf-wise (best gain first) up to `maxLeafNodes` leaves,
 * on gradient/hessian histograms over binned rows (see gbdt-binning.ts). As scikit-learn's
 * HistGradientBoosting grower: gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), leaf value
 * −lr·G/(H+λ), `minSamplesLeaf` rows and `minHessian` on each side, the smaller child's histogram built
 * and the larger one's obtained by subtraction from the parent (in the parent's buffer).
 * Missing values (bin 255): both directions are tried when the node has any; otherwise they follow the
 * larger child. Categorical features: native splits as sklearn (categories with ≥ minCatSupport rows
 * sorted by G/(H+catSmooth), the best prefix of ≤ maxCatThreshold from either end goes left; missing is a
 * category of its own).
 * Histogram layout: hist[(f·256 + bin)·3 + {0: Σg, 1: Σh, 2: count}].
 */
import { MISSING_BIN, type BinnedData } from './gbdt-binning.js';

export interface TreeParams {
  maxLeafNodes: number;
  minSamplesLeaf: number;
  l2Regularization: number;
  learningRate: number;
  minHessian: number;
  maxCatThreshold: number;
  minCatSupport: number;
  catSmooth: number;
}

/** Flat node arrays; `left[n] < 0` marks a leaf. A categorical node has `catBits[n]` (8 words, bit = bin). */
export interface Tree {
  feature: Int32Array;
  bin: Uint8Array;
  missingLeft: Uint8Array;
  catBits: (Uint32Array | undefined)[];
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

const STRIDE = 256 * 3;

/** A candidate split of a leaf; `gain` 0 means none found. */
class Split {
  gain = 0;
  feature = -1;
  bin = 0;
  missingLeft = false;
  catBits: Uint32Array | null = null;
  gl = 0;
  hl = 0;
  nl = 0;
}

/** Sums of the leaf being split, and the constraints (a class so that every field keeps one type). */
class SplitContext {
  g = 0;
  h = 0;
  n = 0;
  parent = 0;
  constructor(
    readonly lam: number,
    readonly msl: number,
    readonly minH: number,
  ) {}
}

class Leaf {
  hist: Float64Array | null = null;
  split: Split | null = null;
  constructor(
    readonly node: number,
    readonly start: number,
    readonly end: number,
    readonly g: number,
    readonly h: number,
    readonly n: number,
  ) {}
}

export function predictTreeRow(t: Tree, bins: Uint8Array, o: number): number {
  let n = 0;
  while (t.left[n]! >= 0) {
    const b = bins[o + t.feature[n]!]!;
    const cb = t.catBits[n];
    const goLeft =
      cb !== undefined
        ? (cb[b >>> 5]! >>> (b & 31)) & 1
        : b === MISSING_BIN
          ? t.missingLeft[n]
          : b <= t.bin[n]!;
    n = goLeft ? t.left[n]! : t.right[n]!;
  }
  return t.value[n]!;
}

/** Adds rows idx[start…end) to `hist` (zeroed by the caller). The hot loop of the whole classifier. */
function buildHistogram(
  hist: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  g: Float64Array,
  h: Float64Array,
  bins: Uint8Array,
  F: number,
): void {
  // Two features per step: independent read-modify-writes overlap instead of waiting on each other.
  const odd = F & 1;
  for (let k = start; k < end; k++) {
    const i = idx[k]!;
    const gi = g[i]!;
    const hi = h[i]!;
    const o = i * F;
    let base = 0;
    for (let f = 0; f < F - odd; f += 2, base += 2 * STRIDE) {
      const q = base + bins[o + f]! * 3;
      const r = base + STRIDE + bins[o + f + 1]! * 3;
      hist[q]! += gi;
      hist[r]! += gi;
      hist[q + 1]! += hi;
      hist[r + 1]! += hi;
      hist[q + 2]!++;
      hist[r + 2]!++;
    }
    if (odd) {
      const q = base + bins[o + F - 1]! * 3;
      hist[q]! += gi;
      hist[q + 1]! += hi;
      hist[q + 2]!++;
    }
  }
}

function subtractHistogram(parent: Float64Array, small: Float64Array): void {
  for (let j = 0; j < parent.length; j++) parent[j]! -= small[j]!;
}

/** Stable partition of idx[start…end): rows going left keep their order at the front. Returns the boundary. */
function partitionRows(
  idx: Uint32Array,
  tmp: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  F: number,
  s: Split,
): number {
  const f = s.feature;
  const t = s.bin;
  const ml = s.missingLeft;
  const cb = s.catBits;
  let a = start;
  let r = 0;
  const mlBit = ml ? 1 : 0;
  // Branch-free: the direction is random-looking, so a branch here would mispredict half the time.
  for (let k = start; k < end; k++) {
    const i = idx[k]!;
    const b = bins[i * F + f]!;
    const left = cb !== null ? (cb[b >>> 5]! >>> (b & 31)) & 1 : b === MISSING_BIN ? mlBit : +(b <= t);
    idx[a] = i;
    tmp[r] = i;
    a += left;
    r += left ^ 1;
  }
  idx.set(tmp.subarray(0, r), a);
  return a;
}

/** Scans a numeric feature's bins, missing values right then (if any) left; improves `best` in place. */
function scanNumeric(
  hist: Float64Array,
  base: number,
  nb: number,
  f: number,
  c: SplitContext,
  best: Split,
): void {
  const G = c.g;
  const H = c.h;
  const N = c.n;
  const mq = base + MISSING_BIN * 3;
  const mc = hist[mq + 2]!;
  const passes = mc > 0 ? 2 : 1;
  for (let pass = 0; pass < passes; pass++) {
    let gl = pass === 1 ? hist[mq]! : 0;
    let hl = pass === 1 ? hist[mq + 1]! : 0;
    let nl = pass === 1 ? mc : 0;
    // With missing values right, the last threshold splits "every value" from "missing".
    const last = pass === 0 && mc > 0 ? nb - 1 : nb - 2;
    for (let t = 0; t <= last; t++) {
      const q = base + t * 3;
      gl += hist[q]!;
      hl += hist[q + 1]!;
      nl += hist[q + 2]!;
      if (nl < c.msl) continue;
      const nr = N - nl;
      if (nr < c.msl) break;
      const hr = H - hl;
      if (hl < c.minH || hr < c.minH) continue;
      const gr = G - gl;
      const gain = (gl * gl) / (hl + c.lam) + (gr * gr) / (hr + c.lam) - c.parent;
      if (gain > best.gain) {
        best.gain = gain;
        best.feature = f;
        best.bin = t;
        best.missingLeft = pass === 1 || (mc === 0 && nl >= nr);
        best.catBits = null;
        best.gl = gl;
        best.hl = hl;
        best.nl = nl;
      }
    }
  }
}

/** sklearn's categorical split search (see the header); improves `best` in place. */
function scanCategorical(
  hist: Float64Array,
  base: number,
  nb: number,
  f: number,
  c: SplitContext,
  p: TreeParams,
  best: Split,
): void {
  const order: number[] = [];
  for (let b = 0; b < nb; b++) if (hist[base + b * 3 + 2]! >= p.minCatSupport) order.push(b);
  if (hist[base + MISSING_BIN * 3 + 2]! >= p.minCatSupport) order.push(MISSING_BIN);
  const ratio = (b: number) => hist[base + b * 3]! / (hist[base + b * 3 + 1]! + p.catSmooth);
  order.sort((a, b) => ratio(a) - ratio(b) || a - b);
  const used = order.length;
  const maxCats = Math.min(p.maxCatThreshold, (used + 1) >> 1);
  for (const dir of [1, -1]) {
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let i = 0; i < maxCats; i++) {
      const q = base + order[dir === 1 ? i : used - 1 - i]! * 3;
      gl += hist[q]!;
      hl += hist[q + 1]!;
      nl += hist[q + 2]!;
      const nr = c.n - nl;
      const hr = c.h - hl;
      if (nl < c.msl || nr < c.msl || hl < c.minH || hr < c.minH) continue;
      const gr = c.g - gl;
      const gain = (gl * gl) / (hl + c.lam) + (gr * gr) / (hr + c.lam) - c.parent;
      if (gain <= best.gain) continue;
      const bits = new Uint32Array(8);
      for (let j = 0; j <= i; j++) {
        const cat = order[dir === 1 ? j : used - 1 - j]!;
        bits[cat >>> 5]! |= 1 << (cat & 31);
      }
      best.gain = gain;
      best.feature = f;
      best.bin = 0;
      best.missingLeft = false;
      best.catBits = bits;
      best.gl = gl;
      best.hl = hl;
      best.nl = nl;
    }
  }
}

export class TreeGrower {
  private readonly F: number;
  private readonly histSize: number;
  private readonly pool: Float64Array[] = [];
  private readonly idx: Uint32Array;
  private readonly tmp: Uint32Array;
  private readonly ctx: SplitContext;

  constructor(
    private readonly data: BinnedData,
    private readonly p: TreeParams,
  ) {
    this.F = data.features;
    this.histSize = this.F * STRIDE;
    this.idx = new Uint32Array(data.rows);
    this.tmp = new Uint32Array(data.rows);
    this.ctx = new SplitContext(p.l2Regularization, p.minSamplesLeaf, p.minHessian);
  }

  /** Grows a tree on `rows`, adds its leaf values to `raw` for those rows and split gains to `gainOut`. */
  grow(rows: Uint32Array, g: Float64Array, h: Float64Array, raw: Float64Array, gainOut: Float64Array): Tree {
    const p = this.p;
    const { idx, F } = this;
    const bins = this.data.bins;
    const maxNodes = 2 * p.maxLeafNodes - 1;
    const tree: Tree = {
      feature: new Int32Array(maxNodes).fill(-1),
      bin: new Uint8Array(maxNodes),
      missingLeft: new Uint8Array(maxNodes),
      catBits: new Array<Uint32Array | undefined>(maxNodes).fill(undefined),
      left: new Int32Array(maxNodes).fill(-1),
      right: new Int32Array(maxNodes).fill(-1),
      value: new Float64Array(maxNodes),
    };
    const n = rows.length;
    idx.set(rows);
    let G = 0;
    let H = 0;
    for (let k = 0; k < n; k++) {
      G += g[rows[k]!]!;
      H += h[rows[k]!]!;
    }
    const splittable = (l: Leaf, leaves: number) => leaves < p.maxLeafNodes && l.n >= 2 * p.minSamplesLeaf;
    const root = new Leaf(0, 0, n, G, H, n);
    const leaves: Leaf[] = [root];
    let nodes = 1;
    if (splittable(root, 1)) {
      root.hist = this.alloc();
      buildHistogram(root.hist, idx, 0, n, g, h, bins, F);
      root.split = this.findSplit(root);
    }
    while (leaves.length < p.maxLeafNodes) {
      let best: Leaf | null = null;
      for (const l of leaves)
        if (l.split !== null && (best === null || l.split.gain > best.split!.gain)) best = l;
      if (best === null) break;
      const s = best.split!;
      gainOut[s.feature]! += s.gain;
      const mid = partitionRows(idx, this.tmp, best.start, best.end, bins, F, s);
      const nd = best.node;
      tree.feature[nd] = s.feature;
      tree.bin[nd] = s.bin;
      tree.missingLeft[nd] = s.missingLeft ? 1 : 0;
      tree.catBits[nd] = s.catBits ?? undefined;
      tree.left[nd] = nodes;
      tree.right[nd] = nodes + 1;
      const L = new Leaf(nodes, best.start, mid, s.gl, s.hl, s.nl);
      const R = new Leaf(nodes + 1, mid, best.end, best.g - s.gl, best.h - s.hl, best.n - s.nl);
      nodes += 2;
      leaves.splice(leaves.indexOf(best), 1, L, R);
      const parentHist = best.hist!;
      best.hist = null;
      best.split = null;
      const count = leaves.length;
      if (splittable(L, count) || splittable(R, count)) {
        const small = L.n <= R.n ? L : R;
        const large = small === L ? R : L;
        small.hist = this.alloc();
        buildHistogram(small.hist, idx, small.start, small.end, g, h, bins, F);
        subtractHistogram(parentHist, small.hist);
        large.hist = parentHist;
        for (const c of [L, R]) {
          if (splittable(c, count)) c.split = this.findSplit(c);
          if (c.split === null) this.free(c);
        }
      } else this.pool.push(parentHist);
    }
    for (const l of leaves) {
      this.free(l);
      const v = (-p.learningRate * l.g) / (l.h + p.l2Regularization);
      tree.value[l.node] = v;
      for (let k = l.start; k < l.end; k++) raw[idx[k]!]! += v;
    }
    return tree;
  }

  private alloc(): Float64Array {
    const b = this.pool.pop();
    if (b === undefined) return new Float64Array(this.histSize);
    b.fill(0);
    return b;
  }

  private free(l: Leaf): void {
    if (l.hist !== null) this.pool.push(l.hist);
    l.hist = null;
  }

  private findSplit(l: Leaf): Split | null {
    const c = this.ctx;
    c.g = l.g;
    c.h = l.h;
    c.n = l.n;
    c.parent = (l.g * l.g) / (l.h + c.lam);
    const best = new Split();
    const hist = l.hist!;
    const { nBins, categorical } = this.data;
    for (let f = 0, base = 0; f < this.F; f++, base += STRIDE) {
      if (categorical[f] === 1) scanCategorical(hist, base, nBins[f]!, f, c, this.p, best);
      else scanNumeric(hist, base, nBins[f]!, f, c, best);
    }
    return best.gain > 0 ? best : null;
  }
}
