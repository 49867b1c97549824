/**
 * Seeded sample recipes shared with the golden-fixture generator (`scripts/golden/drift_metrics.py`) and the
 * bench: a recipe regenerates the same doubles in Python and TypeScript, so large inputs need not be stored.
 * mulberry32 draws; only exact integer arithmetic, one IEEE division/multiplication/addition per step and
 * floor — no libm — so both languages produce identical values.
 */
import { mulberry32 } from './prng.js';

const TWO32 = 4294967296;

export interface NumericRecipe {
  seed: number;
  n: number;
  /** normal: Irwin–Hall(12) − 6; uniform: [0, 1); int: floor(u·k); constant: 0 (then ·scale + loc). */
  dist: 'normal' | 'uniform' | 'int' | 'constant';
  loc?: number;
  scale?: number;
  k?: number;
  /** Snap to a grid (ties): floor(v / quantum) · quantum. */
  quantum?: number;
  /** Shares of NaN, +Infinity, −Infinity (one extra draw per value when any is set). */
  nan?: number;
  posinf?: number;
  neginf?: number;
}

export function numericSample(r: NumericRecipe): Float64Array {
  const next = mulberry32(r.seed).u32;
  const loc = r.loc ?? 0;
  const scale = r.scale ?? 1;
  const k = r.k ?? 10;
  const pn = r.nan ?? 0;
  const pp = r.posinf ?? 0;
  const pm = r.neginf ?? 0;
  const special = pn + pp + pm > 0;
  const out = new Float64Array(r.n);
  for (let i = 0; i < r.n; i++) {
    let v: number;
    switch (r.dist) {
      case 'normal': {
        let s = 0;
        for (let j = 0; j < 12; j++) s += next();
        v = s / TWO32 - 6;
        break;
      }
      case 'uniform':
        v = next() / TWO32;
        break;
      case 'int':
        v = Math.floor((next() / TWO32) * k);
        break;
      case 'constant':
        v = 0;
        break;
    }
    v = v * scale + loc;
    if (r.quantum) v = Math.floor(v / r.quantum) * r.quantum;
    if (special) {
      const u = next() / TWO32;
      if (u < pn) v = NaN;
      else if (u < pn + pp) v = Infinity;
      else if (u < pn + pp + pm) v = -Infinity;
    }
    out[i] = v;
  }
  return out;
}

export interface CategoricalRecipe {
  seed: number;
  n: number;
  /** Number of categories; category i is `${prefix}${i}`. */
  k: number;
  prefix?: string;
  /** Skewed: index from min(u1, u2) (triangular), else uniform. */
  skew?: boolean;
  /** Offset added to the index (shifts which categories appear). */
  offset?: number;
  /** Share of nulls (one extra draw per value when set). */
  nulls?: number;
}

export function categoricalSample(r: CategoricalRecipe): (string | null)[] {
  const next = mulberry32(r.seed).u32;
  const prefix = r.prefix ?? 'c';
  const out: (string | null)[] = new Array<string | null>(r.n);
  for (let i = 0; i < r.n; i++) {
    if (r.nulls && next() / TWO32 < r.nulls) {
      out[i] = null;
      continue;
    }
    let u = next() / TWO32;
    if (r.skew) u = Math.min(u, next() / TWO32);
    out[i] = `${prefix}${Math.floor(u * r.k) + (r.offset ?? 0)}`;
  }
  return out;
}
