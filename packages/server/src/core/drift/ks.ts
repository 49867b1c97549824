/**
 * Two-sample Kolmogorov–Smirnov p-value exactly as scipy 1.10.1 `ks_2samp(a, b, 'two-sided', method='auto')`:
 * exact when max(n1, n2) ≤ 10,000 (Hodges' lattice paths: the alternating-sum square method for n1 = n2,
 * Viehmann's "1 − p inside" recursion otherwise), else `kstwo.sf(D, round_half_even(n1·n2/(n1+n2)))`.
 * An exact computation that fails (non-finite or outside [0, 1]) falls back to the asymptotic one, as scipy.
 */
import type { KsResult } from './types.js';
import { kstwoSf } from './kolmogn.js';

/** scipy's MAX_AUTO_N. */
export const KS_MAX_EXACT_N = 10000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Pr(D_{n,n} ≥ h/n): 2·Σ (−1)^(k+1) C(2n, n−kh)/C(2n, n), Horner form (scipy `_compute_prob_outside_square`). */
export function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k--;
  }
  return 2 * P;
}

/** Proportion of lattice paths leaving |x/m − y/n| < h/lcm (scipy `_compute_outer_prob_inside_method`). */
export function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/**
 * p-value for a statistic D computed from samples of sizes n1 and n2 (the D returned is scipy's: snapped to
 * h/lcm on the exact path).
 */
export function ks2sampPValue(d: number, n1: number, n2: number): KsResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError('ks_2samp needs two non-empty samples');
  let statistic = d;
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    statistic = h / lcm;
    if (h === 0) return { statistic, pValue: 1, method: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic, pValue: prob, method: 'exact' };
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const p = kstwoSf(roundHalfEven(en), statistic);
  return { statistic, pValue: p < 0 ? 0 : p > 1 ? 1 : p, method: 'asymp' };
}
