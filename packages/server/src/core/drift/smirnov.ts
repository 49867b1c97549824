/**
 * The one-sided Smirnov survival function `scipy.special.smirnov(n, x)` = P(D_n^+ ≥ x), a port of scipy's
 * cephes `kolmogorov.c` `_smirnov` (van Mulbregt's double-double evaluation of the Birnbaum–Tingey sum,
 * scipy ≥ 1.1): the terms C(n,v)·(x+v/n)^(v−1)·(1−x−v/n)^(n−v) are formed in double-double with the binomial
 * kept as (mantissa, exponent), summed from the low end — or from the top when only ≤ 3 terms remain — and
 * stopped early once the rest cannot change the sum. Only the survival value is computed (no pdf).
 */
/* eslint-disable no-loss-of-precision -- constants keep the digits published in cephes / scipy; they parse to the same doubles as in C */
import {
  add,
  addD,
  type DD,
  DD_ONE,
  DD_ZERO,
  ddFrexp,
  ddLdexp,
  div,
  divD,
  divDD,
  floor,
  inv,
  isZero,
  frexp,
  ldexp,
  mul,
  mulD,
  sub,
  toNumber,
  twoProd,
  twoSum,
} from './dd.js';

const SPLITTER = 134217729; // 2^27 + 1, Dekker split
const DBL_EPSILON = 2.220446049250313e-16;
const MINLOG = -7.451332191019412076235e2;
const SMIRNOV_MAX_COMPUTE_N = 1000000;
const MAX_EXPONENT = 960;

/** (a)^m in double-double, pow() of the high part corrected for the low part (as cephes pow_D). */
function powD(a: DD, m: number): DD {
  if (m <= 0) return m === 0 ? DD_ONE : inv(powD(a, -m));
  if (isZero(a)) return DD_ZERO;
  const ans = Math.pow(a[0], m);
  const r = a[1] / a[0];
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    if (Math.abs(adj) < 1e-4) adj += m * r * (((m - 1) / 2) * r);
    else adj = Math.expm1(m * Math.log1p(r));
  }
  return twoSum(ans, ans * adj);
}

function nextPowerOf2(x: number): number {
  const q = ldexp(x, 1 - 53);
  let l = Math.abs(q + x);
  if (l === 0) l = Math.abs(x);
  else if (Math.trunc(l) === l) l = Math.trunc(l);
  return l;
}

/** a^m = significand · 2^exponent, kept apart so huge/tiny powers do not overflow. */
function pow2Scaled(a: DD, m: number): [DD, number] {
  if (m <= 0) {
    if (m === 0) return [DD_ONE, 0];
    const [p, e1] = pow2Scaled(a, -m);
    const [q, e2] = ddFrexp(inv(p));
    return [q, -e1 + e2];
  }
  const [y, yE] = ddFrexp(a);
  if (m === 1) return [y, yE];
  let maxExpt = MAX_EXPONENT;
  if ((m * (y[0] - 1)) / y[0] < -MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(y[0]) / Math.LN2;
    if (m * lg2y <= -MAX_EXPONENT) maxExpt = Math.trunc(nextPowerOf2(-MAX_EXPONENT / lg2y + 1) / 2);
  }
  if (m <= maxExpt) {
    const [ans, ansE] = ddFrexp(powD(y, m));
    return [ans, ansE + m * yE];
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  const [y2r, y2rE] = pow2Scaled(y, r);
  const [y2m, y2mE] = pow2Scaled(y, maxExpt);
  const [y2mq, y2mqE0] = pow2Scaled(y2m, q);
  const [ans, ansE0] = ddFrexp(mul(y2r, y2mq));
  const y2mqE = y2mqE0 + y2mE * q;
  return [ans, ansE0 + y2mqE + y2rE + m * yE];
}

/** ((a + b)/(c + d))^m. */
function pow4(a: number, b: number, c: number, d: number, m: number): DD {
  if (m <= 0) return m === 0 ? DD_ONE : pow4(c, d, a, b, -m);
  const A = twoSum(a, b);
  const C = twoSum(c, d);
  if (isZero(A)) return isZero(C) ? [NaN, NaN] : DD_ZERO;
  if (isZero(C)) return A[0] < 0 ? [-Infinity, 0] : [Infinity, 0];
  return powD(div(A, C), m);
}

/** smirnov(n, x) = P(D_n^+ ≥ x). */
export function smirnov(n: number, x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;

  // floor(n·x) and the remainder, exactly.
  const nxD = twoProd(n, x);
  const nxFloorD = floor(nxD);
  let alpha = sub(nxD, nxFloorD)[0];
  let nxfl = nxFloorD[0] + nxFloorD[1];
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }
  const nx = toNumber(nxD);
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  void nx;

  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = toNumber(powD(twoSum(1, x), n - 1));
    return clip01(1 - x * t);
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return clip01(toNumber(powD(twoSum(1, -x), n)));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -Math.pow(6.0 * n * x + 1, 2) / 18.0 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp));
  }

  const nUpperTerms = n - n1mxceil + 1;
  const useUpper = (nUpperTerms <= 1 && x < 0.5) || (n >= 10 && nUpperTerms <= 3 && x <= 0.5 / Math.sqrt(n));

  let start = 0;
  let step = 1;
  let nTerms = n1mxfl + 1;
  const vmid = Math.trunc(n / 2);
  let cExpt = 0;
  let aj: DD;
  if (useUpper) {
    start = n;
    step = -1;
    nTerms = n - n1mxceil + 1;
    aj = pow4(1, x, 1, 0, n - 1);
  } else {
    aj = divD(pow4(1, -x, 1, 0, n), x);
  }
  let ajSum = add(DD_ZERO, aj);
  // C(n, v) as (hi + lo)·2^cExpt, updated by (n − j)/(j + 1) in scalar double-double (no allocation:
  // this runs once per term).
  let cHi = 1;
  let cLo = 0;
  const updateBinomial = (j: number): void => {
    const num = n - j;
    const den = j + 1;
    // rat = num/den in double-double
    const q1 = num / den;
    let p = q1 * den;
    let t = SPLITTER * q1;
    const qh = t - (t - q1);
    const ql = q1 - qh;
    t = SPLITTER * den;
    const dh = t - (t - den);
    const dl = den - dh;
    const pe = qh * dh - p + qh * dl + ql * dh + ql * dl;
    const q2 = (num - p - pe) / den;
    // (cHi, cLo) · (q1, q2)
    p = cHi * q1;
    t = SPLITTER * cHi;
    const ch = t - (t - cHi);
    const cl = cHi - ch;
    const e = ch * qh - p + ch * ql + cl * qh + cl * ql + (cHi * q2 + cLo * q1);
    cHi = p + e;
    cLo = e - (cHi - p);
    if (cHi > 1e200 || cHi < 1e-200) {
      const [m, k] = frexp(cHi);
      cHi = m;
      cLo = ldexp(cLo, -k);
      cExpt += k;
    }
  };
  updateBinomial(0);

  // Terms between anchors follow from the ratio A_{v+1}/A_v in float64 (see ratio()); every ANCHOR-th term
  // is recomputed exactly in double-double, so the ratio's rounding cannot drift (terms stay ~1e-13 relative;
  // all terms are positive, so the sum is as accurate). scipy's term-by-term loop costs ~2 s at n = 4e5.
  let mant = 0;
  let expo = 0;
  let sumC = 0; // Neumaier compensation for the fast terms
  let fastSum = 0;
  let scale = 1;
  let scaleExpo = NaN;
  for (let j = 1; j < nTerms; j++) {
    const v = start + j * step;
    let ajNum: number;
    if (step < 0 || j % ANCHOR === 1 || mant === 0) {
      // A_v = C(n, v) · (x + v/n)^(v−1) · (1 − x − v/n)^(n−v)
      const t2x = addD(divDD(n - v, n), -x);
      const [t2, t2E] = pow2Scaled(t2x, n - v);
      const t1x = addD(divDD(v, n), x);
      const [t1, t1E] = pow2Scaled(t1x, v - 1);
      const prod = mul(mul(t1, t2), [cHi, cLo]);
      aj = ddLdexp(prod, cExpt + t1E + t2E);
      mant = toNumber(prod);
      expo = cExpt + t1E + t2E;
      const finite = Number.isFinite(aj[0]) && Number.isFinite(aj[1]);
      if (finite && !isZero(aj)) ajSum = add(ajSum, aj);
      ajNum = toNumber(aj);
    } else {
      mant *= ratio(n, v - 1, nxfl, alpha);
      if (mant < 1e-200 || mant > 1e200) {
        const [m2, e2] = frexp(mant);
        mant = m2;
        expo += e2;
        scaleExpo = NaN;
      }
      if (expo !== scaleExpo) {
        scale = ldexp(1, expo);
        scaleExpo = expo;
      }
      ajNum = mant * scale;
      if (!Number.isFinite(scale) || scale === 0) ajNum = ldexp(mant, expo);
      const t = fastSum + ajNum;
      sumC += Math.abs(fastSum) >= Math.abs(ajNum) ? fastSum - t + ajNum : ajNum - t + fastSum;
      fastSum = t;
    }
    if (ajNum !== 0) {
      if (4 * (nTerms - j) * Math.abs(ajNum) < DBL_EPSILON * (toNumber(ajSum) + fastSum) && j !== nTerms - 1)
        break;
    } else if (j > vmid) {
      break;
    }
    updateBinomial(j);
  }
  ajSum = add(add(ajSum, [fastSum, 0]), [sumC, 0]);
  const prob = toNumber(mulD(ajSum, x));
  return clip01(step < 0 ? 1 - prob : prob);
}

/** Terms between exact anchors (lower sum only). */
const ANCHOR = 256;

/**
 * A_{v+1}/A_v with P = n(x + v/n) = nxfl + v + α and Q = n(1 − x − v/n) = n − nxfl − v − α (exact forms, as
 * scipy's derivative coefficients):
 *   (n − v)/(v + 1) · P/Q · exp(v·log1p(1/P) + (n − v − 1)·log1p(−1/Q)).
 */
function ratio(n: number, v: number, nxfl: number, alpha: number): number {
  const P = nxfl + v + alpha;
  const Q = n - nxfl - v - alpha;
  return (((n - v) / (v + 1)) * P * Math.exp(v * Math.log1p(1 / P) + (n - v - 1) * Math.log1p(-1 / Q))) / Q;
}

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
